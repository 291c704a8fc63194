// Copy buttons: <button data-copy="#element-id">. Everything else works without JS.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});

// Drop files on #drop-zone: they go into its file input, as if chosen.
document.addEventListener("DOMContentLoaded", () => {
  const zone = document.getElementById("drop-zone");
  const input = zone && zone.querySelector("input[type=file]");
  if (!input) return;
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("bg-body-secondary"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("bg-body-secondary"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("bg-body-secondary");
    input.files = event.dataTransfer.files;
  });
});
