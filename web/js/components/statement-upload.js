// "Import a statement": a drop zone and a file picker. The file is read in the browser, checked
// against the API's 4 MB limit, sent base64-encoded, and the API's refusal shown with where in the
// file it is (a line or an XML element).
import { ApiError, api } from "../api.js";
import { h, nextId } from "../dom.js";

export const MAX_BYTES = 4 * 1024 * 1024; // the API's limit (statement_too_large past it)
export const ACCEPT = ".csv,.sta,.mt940,.940,.xml,.053";
const FORMATS = [["", "Detect from the file"], ["csv", "CSV"], ["mt940", "MT940"], ["camt053", "camt.053 (XML)"]];
const CHUNK = 3 * 8192; // a multiple of 3 bytes: each chunk's base64 joins the next without padding

/** The file's bytes as base64, a chunk at a time (no string of the whole file's characters). */
export async function fileBase64(file) {
  const bytes = new Uint8Array(await readBytes(file));
  const parts = [];
  for (let start = 0; start < bytes.length; start += CHUNK) {
    parts.push(btoa(String.fromCharCode.apply(null, bytes.subarray(start, start + CHUNK))));
  }
  return parts.join("");
}

function readBytes(file) {
  if (typeof file.arrayBuffer === "function") return file.arrayBuffer();
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsArrayBuffer(file);
  });
}

/** The API's words for a file over the limit (imports._too_large). */
export function tooLargeMessage(size) {
  const grouped = (n) => new Intl.NumberFormat("en").format(n);
  return `The file is ${grouped(size)} bytes; a statement may be at most ${MAX_BYTES / (1024 * 1024)} MB `
    + `(${grouped(MAX_BYTES)} bytes).`;
}

/** Where in the file the API found the problem: "line 12", "element Ntry". */
function where(details) {
  if (details?.line !== undefined && details.line !== null) return `line ${details.line}`;
  if (details?.element) return `element ${details.element}`;
  return null;
}

/**
 * The upload card. `onImported(statement)` runs with the API's import report.
 */
export function statementUpload({ onImported }) {
  const inputId = nextId("statement-file");
  const formatId = nextId("statement-format");
  const status = h("div", { class: "upload-status", role: "status", "aria-live": "polite", dataset: { uploadStatus: "" } });
  const alert = h("div", { class: "alert alert-danger", role: "alert", dataset: { uploadError: "" } });
  const input = h("input", { type: "file", id: inputId, name: "statement", accept: ACCEPT, class: "file-input",
    "aria-describedby": `${inputId}-hint` });
  const format = h("select", { id: formatId, name: "format" }, FORMATS.map(([value, text]) => h("option", { value }, text)));
  const zone = h("div", { class: "drop-zone", dataset: { dropZone: "" } },
    h("p", { class: "drop-title" }, h("strong", {}, "Drop a statement file here"), " or choose one"),
    h("div", { class: "upload-row" },
      h("div", { class: "field" }, h("label", { for: inputId }, "Statement file"), input),
      h("div", { class: "field upload-format" }, h("label", { for: formatId }, "Format"), format)),
    h("p", { class: "small muted", id: `${inputId}-hint` },
      "CSV, MT940 (.sta, .mt940, .940) or camt.053 (.xml, .053), at most 4 MB. Each line is imported once, ever: "
      + "lines already imported from this or another file count as duplicates."));
  let working = false;

  async function send(file) {
    if (!file || working) return;
    alert.replaceChildren();
    status.replaceChildren();
    if (file.size > MAX_BYTES) {
      alert.append(h("p", {}, tooLargeMessage(file.size)));
      return;
    }
    if (!file.size) {
      alert.append(h("p", {}, `${file.name} is empty: there is nothing to import.`));
      return;
    }
    working = true;
    zone.classList.add("is-busy");
    status.textContent = `Importing ${file.name}…`;
    try {
      let content;
      try {
        content = await fileBase64(file);
      } catch {
        throw new ApiError(0, "file_unreadable", `${file.name} could not be read. Choose it again.`);
      }
      const body = { filename: file.name, content_base64: content };
      if (format.value) body.format = format.value;
      const statement = await api.importStatement(body);
      status.textContent = `Imported ${file.name}.`;
      await onImported(statement);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      status.replaceChildren();
      const at = where(error.details);
      alert.append(h("p", { dataset: { errorCode: error.code } }, error.message),
        at ? h("p", { class: "small", dataset: { errorWhere: "" } }, `Where in the file: ${at}.`) : null);
    } finally {
      working = false;
      zone.classList.remove("is-busy");
      input.value = "";
    }
  }

  input.addEventListener("change", () => send(input.files?.[0]));
  let depth = 0; // dragenter/dragleave fire for each child: over the zone while depth > 0
  zone.addEventListener("dragenter", (event) => {
    event.preventDefault();
    depth += 1;
    zone.classList.add("is-over");
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.classList.remove("is-over");
  });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    depth = 0;
    zone.classList.remove("is-over");
    const files = event.dataTransfer?.files;
    if (files?.length > 1) {
      alert.replaceChildren(h("p", {}, "Drop one file at a time."));
      return;
    }
    send(files?.[0]);
  });

  return h("section", { class: "card", "aria-labelledby": "import-title", dataset: { statementUpload: "" } },
    h("h2", { id: "import-title" }, "Import a statement"),
    alert,
    zone,
    status);
}
