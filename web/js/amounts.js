// Money arithmetic on the API's decimal strings ("24964.50"), in whole minor units (BigInt), with
// the API's roundings (half-up to the cent): what the app says will remain due, or will go to the
// balance, is what the API then records. Never a float.
import { money } from "./dom.js";

const AMOUNT = /^(\d{1,10})(?:\.(\d{1,2}))?$/;
const RATE = /^(\d{1,9})(?:\.(\d{1,6}))?$/;

/** "24,964.50", "24964.5" or "24964" -> "24964.50" (the API's form), or null if it is no amount. */
export function normalizeAmount(text) {
  const match = AMOUNT.exec(String(text ?? "").replace(/[,\s]/g, ""));
  if (!match) return null;
  return `${BigInt(match[1])}.${(match[2] ?? "").padEnd(2, "0")}`;
}

/** "24964.50" -> 2496450n. */
export function toMinor(amount) {
  const normal = normalizeAmount(amount);
  if (normal === null) throw new Error(`not an amount: ${amount}`);
  return BigInt(normal.replace(".", ""));
}

/** 2496450n -> "24964.50". */
export function fromMinor(minor) {
  const text = String(minor < 0n ? -minor : minor).padStart(3, "0");
  return `${minor < 0n ? "-" : ""}${text.slice(0, -2)}.${text.slice(-2)}`;
}

/** a / b rounded half-up, for a >= 0 and b > 0. */
function halfUp(a, b) {
  return (2n * a + b) / (2n * b);
}

/** A rate string ("280.50") as a fraction: units of the local currency per unit of the invoice's. */
function fraction(rate) {
  const match = RATE.exec(String(rate));
  if (!match) throw new Error(`not a rate: ${rate}`);
  const decimals = match[2] ?? "";
  return { top: BigInt(match[1] + decimals), bottom: 10n ** BigInt(decimals.length) };
}

/** Minor units of the invoice currency in the local one: a quote's rounding. */
export function convert(minor, rate) {
  const { top, bottom } = fraction(rate);
  return halfUp(minor * top, bottom);
}

/** Minor units of the local currency in the invoice's, half-up to the cent. */
export function convertBack(localMinor, rate) {
  const { top, bottom } = fraction(rate);
  return halfUp(localMinor * bottom, top);
}

/** The least that counts as paying `dueMinor` in full: up to `percent` less (transfer fees). */
export function leastInFull(dueMinor, percent = 1) {
  const hundredths = BigInt(Math.round(percent * 100));
  return halfUp(dueMinor * (10000n - hundredths), 10000n);
}

/** "24964.50", "PKR" -> "PKR 24,964.50": the currency first, as a payer types it into a transfer. */
export function exactly(amount, currency) {
  const [whole, cents = "00"] = String(amount).split(".");
  return `${currency} ${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${cents}`;
}

/** An amount for people: "$89.00 USD" where the currency has a symbol, else "PKR 24,964.50". */
export function said(amount, currency) {
  const shown = money(amount, currency);
  return shown.endsWith(` ${currency}`) ? exactly(amount, currency) : `${shown} ${currency}`;
}

/** The currency a method is paid in (its account's), or null. */
export function methodCurrency(method) {
  return method?.details?.currency ?? null;
}

/** The invoice's quote in a method's currency (fixed at issue), or null. */
export function quoteFor(invoice, method) {
  const currency = methodCurrency(method);
  if (!currency || currency === invoice?.currency) return null;
  return (invoice?.quotes ?? []).find((quote) => quote.currency === currency) ?? null;
}
