// "Download PDF": the invoice (a receipt once paid) from the API. The route needs the session's
// token, so a plain link cannot fetch it: the button fetches the PDF and saves the Blob as a file.
import { ApiError } from "../api.js";
import { h, toast } from "../dom.js";
import { busy } from "../forms.js";

/** Save a Blob under `filename` (a link with `download`, clicked, then let go). */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A button that downloads `invoice`'s PDF with `fetchPdf(id)` (api.invoicePdf or api.adminInvoicePdf). */
export function pdfButton(invoice, fetchPdf, { label = "Download PDF" } = {}) {
  const what = invoice.status === "paid" ? "receipt" : "invoice";
  const button = h("button", {
    class: "btn btn-secondary", type: "button", dataset: { pdf: invoice.id },
    "aria-label": `Download the ${what} ${invoice.invoice_number} as a PDF`,
  }, label);
  button.addEventListener("click", async () => {
    try {
      const blob = await busy(button, "Preparing PDF…", () => fetchPdf(invoice.id));
      saveBlob(blob, `${invoice.invoice_number}.pdf`);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      toast(`The PDF could not be downloaded: ${error.message}`);
    }
  });
  return button;
}
