// ISO 3166-1 alpha-2 codes the API accepts as a billing country, with names from the browser.
import { countryName } from "./dom.js";

const CODES = [
  "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
  "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
  "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
  "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
  "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
  "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
  "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
  "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
  "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
  "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
  "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
  "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
  "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
  "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
  "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
  "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/** [code, name] pairs sorted by name, for a <select>. */
export function countryOptions() {
  return CODES.map((code) => [code, countryName(code)])
    .sort((a, b) => a[1].localeCompare(b[1], "en"));
}

// Where the city, the state and the postal code go, by country (as chalicelib/core/addresses.py):
// "City, ST 12345" in these; the postal code first ("10115 Berlin") in most of continental Europe;
// elsewhere, Pakistan and the United Kingdom among them, the city first ("Lahore 54000").
const CITY_STATE_POSTAL = new Set(["US", "CA", "AU"]);
const POSTAL_CITY = new Set([
  "AD", "AL", "AT", "BA", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FO", "FR",
  "GL", "GR", "HR", "HU", "IS", "IT", "LI", "LT", "LU", "MC", "MD", "ME", "MK", "NL", "NO", "PL",
  "PT", "RO", "RS", "SE", "SI", "SK", "SM", "VA",
]);

const join = (separator, ...parts) => parts.filter(Boolean).join(separator);

/** The lines of an address (a billing snapshot) that say where it is, in its country's order. */
export function placeLines({ city, state, postal_code: postal, country } = {}) {
  [city, state, postal] = [city, state, postal].map((part) => String(part ?? "").trim());
  const code = String(country ?? "").trim().toUpperCase();
  if (CITY_STATE_POSTAL.has(code)) return [join(" ", join(", ", city, state), postal)].filter(Boolean);
  const place = POSTAL_CITY.has(code) ? join(" ", postal, city) : join(" ", city, postal);
  return [place, state].filter(Boolean);
}
