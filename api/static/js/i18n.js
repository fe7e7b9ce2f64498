// The console's two languages: one dictionary file each, the choice remembered per browser.

const STORAGE_KEY = "anxin:lang";

export const LANGUAGES = [
  { code: "zh-CN", name: "中文" },
  { code: "en", name: "English" },
];

let current = "en";
let dictionary = {};

/** The remembered choice, else Chinese for a browser whose language is Chinese. */
export function preferredLanguage() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (LANGUAGES.some((language) => language.code === saved)) return saved;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

/** Load a language's dictionary and make it current; `remember` keeps the choice. */
export async function useLanguage(code, { remember = false } = {}) {
  const response = await fetch(`/static/i18n/${code}.json`);
  if (!response.ok) throw new Error(`dictionary ${code}: HTTP ${response.status}`);
  dictionary = await response.json();
  current = code;
  document.documentElement.lang = code;
  if (remember) localStorage.setItem(STORAGE_KEY, code);
}

export function language() {
  return current;
}

/** The text for `key`, with `{name}` placeholders filled from `params`. */
export function t(key, params = {}) {
  const text = dictionary[key];
  if (text === undefined) return key;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    name in params ? String(params[name]) : whole,
  );
}

/** The label of a value the API sends (a severity, a status…); the value itself when the
 * dictionary does not know it, so a value added to the API later still shows. */
export function label(group, value) {
  const key = `${group}.${value}`;
  return key in dictionary ? dictionary[key] : String(value ?? "");
}
