// Colour theme: light, dark or auto (the system's prefers-color-scheme), kept in
// localStorage "theme". Loaded in <head> without defer, so <html data-bs-theme> is set
// before the first paint (no white flash in the dark). The navbar's #theme-switch cycles
// auto -> light -> dark; every change dispatches a "themechange" event on document, which
// charts listen to and redraw with the colours of the new theme (CSS variables).
(() => {
  const KEY = "theme";
  const ORDER = ["auto", "light", "dark"];
  const LABELS = { auto: "Auto", light: "Light", dark: "Dark" };
  const ICONS = { auto: "◐", light: "☀", dark: "☾" };
  const media = window.matchMedia("(prefers-color-scheme: dark)");

  const stored = () => {
    try {
      const value = window.localStorage.getItem(KEY);
      return ORDER.includes(value) ? value : "auto";
    } catch (error) {
      return "auto"; // storage refused (privacy mode): follow the system
    }
  };
  const resolve = (choice) => (choice === "auto" ? (media.matches ? "dark" : "light") : choice);

  const render = (choice) => {
    const button = document.getElementById("theme-switch");
    if (!button) return;
    const next = ORDER[(ORDER.indexOf(choice) + 1) % ORDER.length];
    button.dataset.theme = choice;
    button.setAttribute("aria-label", `Colour theme: ${LABELS[choice]}. Switch to ${LABELS[next]}`);
    button.title = `Theme: ${LABELS[choice]} (click for ${LABELS[next]})`;
    button.querySelector(".theme-switch-icon").textContent = ICONS[choice];
    button.querySelector(".theme-switch-label").textContent = LABELS[choice];
  };

  const apply = (choice, announce) => {
    const theme = resolve(choice);
    const root = document.documentElement;
    root.setAttribute("data-bs-theme", theme);
    render(choice);
    if (announce) {
      document.dispatchEvent(new CustomEvent("themechange", { detail: { theme, choice } }));
    }
  };

  let current = stored();
  apply(current, false);

  media.addEventListener("change", () => {
    if (current === "auto") apply("auto", true);
  });
  // Another tab changed the choice.
  window.addEventListener("storage", (event) => {
    if (event.key !== KEY) return;
    current = stored();
    apply(current, true);
  });

  document.addEventListener("DOMContentLoaded", () => render(current));
  document.addEventListener("click", (event) => {
    if (!event.target.closest("#theme-switch")) return;
    current = ORDER[(ORDER.indexOf(current) + 1) % ORDER.length];
    try {
      window.localStorage.setItem(KEY, current);
    } catch (error) {
      // not kept across pages, but still applied to this one
    }
    apply(current, true);
  });
})();
