// A secret shown once (a service key, a webhook signing secret): a warning box with the secret in a
// read-only field to select, a Copy button, the words that it is not shown again, and "I have stored it".
import { h, nextId, toast } from "../dom.js";

/**
 * `secret` the text to copy; `title`, `warning` (nodes or text after "This is the only time it is
 * shown."), `label` of the field, `noun` ("key", "secret") for the Copy button and its toasts;
 * `dataset` marks the box; `onDone` runs on "I have stored it".
 */
export function secretBox({ secret, title, warning, label, noun, dataset, onDone, id = nextId("secret") }) {
  const titleId = `${id}-title`;
  const warningId = `${id}-warning`;
  const input = h("textarea", {
    id, class: "mono secret-input", rows: 3, readonly: true, spellcheck: "false", autocomplete: "off",
    "aria-describedby": warningId, "data-secret": true,
  }, secret);
  input.addEventListener("focus", () => input.select());
  const copy = h("button", { class: "btn btn-secondary", type: "button" }, `Copy ${noun}`);
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(secret);
      toast(`Copied the ${noun}.`);
    } catch {
      input.focus();
      toast(`Select and copy the ${noun} (it is selected).`);
    }
  });
  const done = h("button", { class: "btn", type: "button" }, "I have stored it");
  done.addEventListener("click", onDone);
  return h("div", { class: "banner banner-warning secret-box", role: "alert", "aria-labelledby": titleId, dataset },
    h("h3", { id: titleId }, title),
    h("p", { id: warningId }, h("strong", {}, "This is the only time it is shown. "), warning),
    h("label", { for: id, class: "small-title" }, label),
    h("div", { class: "secret-row" }, input, copy),
    h("div", { class: "actions" }, done));
}
