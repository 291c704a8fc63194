// Buttons that ask first: <button data-confirm="Remove x?">. The text is an attribute,
// never JavaScript source, so a name in it cannot run as code (no inline handlers).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
});

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

// Tables with class "sortable": a click on a header sorts by that column (numbers by
// their data-value), a second click reverses. Without JavaScript they stay as served.
document.addEventListener("click", (event) => {
  const th = event.target.closest("table.sortable th");
  if (!th) return;
  const table = th.closest("table");
  const index = Array.from(th.parentNode.children).indexOf(th);
  const body = table.tBodies[0];
  const descending = th.getAttribute("aria-sort") !== "descending";
  table.querySelectorAll("th").forEach((h) => h.removeAttribute("aria-sort"));
  th.setAttribute("aria-sort", descending ? "descending" : "ascending");
  const key = (row) => {
    const cell = row.children[index];
    const value = cell && cell.dataset.value;
    return value !== undefined ? Number(value) : (cell ? cell.textContent.trim().toLowerCase() : "");
  };
  const rows = Array.from(body.rows).sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    return (x < y ? -1 : x > y ? 1 : 0) * (descending ? -1 : 1);
  });
  rows.forEach((row) => body.appendChild(row));
});
