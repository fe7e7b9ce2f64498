// Building elements without HTML strings: text always goes in as text, never as markup.

/**
 * An element: `h("button", {class: "primary", onclick: go}, "Save")`.
 * Props: `class`, `text`, `dataset` (object), `on<event>` handlers, anything else an
 * attribute (`true` sets it empty, `false`/`null`/`undefined` leaves it out).
 * Children: nodes, strings, numbers, or nested arrays of them; null is skipped.
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") element.className = value;
    else if (name === "text") element.textContent = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.append(child instanceof Node ? child : String(child));
  }
}

/** Replace everything inside `parent` with `children`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
}

/** A label wrapping its control, so the pairing needs no ids. */
export function field(label, control, hint = null) {
  return h(
    "label",
    { class: "field" },
    h("span", { class: "field-label" }, label),
    control,
    hint ? h("span", { class: "field-hint" }, hint) : null,
  );
}
