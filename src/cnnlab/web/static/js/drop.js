// Your own networks on the page: drop a file written by `cnnlab export RUN_DIR --format web` anywhere
// on the page, or choose it with the button. A file the page cannot use is refused with one sentence
// saying why (foreign, corrupted, 1-D, several channels, larger than 64x64, an unknown layer); the
// page itself is never left broken.

export function setupDrop(registry, { button, input, status }) {
  const say = (text, error) => {
    status.textContent = text;
    status.classList.toggle("error", !!error);
  };

  async function add(files) {
    for (const file of files) {
      try {
        const model = await registry.addFile(file);
        say(`Added ${model.name}: ${model.spec} (${model.numParams.toLocaleString()} parameters).`, false);
      } catch (err) {
        say(`${file.name} was not added: ${err.message}.`.replace(/\.\.$/, "."), true);
      }
    }
  }

  button.addEventListener("click", () => input.click());
  input.addEventListener("change", () => { add([...input.files]); input.value = ""; });
  let depth = 0; // dragenter/dragleave fire for every child element crossed
  document.addEventListener("dragenter", (e) => { e.preventDefault(); depth++; document.body.classList.add("dragging"); });
  document.addEventListener("dragleave", () => { if (--depth <= 0) { depth = 0; document.body.classList.remove("dragging"); } });
  document.addEventListener("dragover", (e) => e.preventDefault()); // without it the browser opens the file
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    document.body.classList.remove("dragging");
    const files = [...(e.dataTransfer ? e.dataTransfer.files : [])];
    if (files.length) add(files);
    else say("Nothing to add: drop a .cnnlab file from cnnlab export RUN_DIR --format web.", true);
  });
  return add;
}
