// History API routing: real paths (/dashboard, /billing/invoices/<id>), so links in emails work.
// The static host answers every unknown path with index.html; this module picks the screen.

const routes = [];
let renderRoute = null;
let renderCount = 0;

/** Register a screen for a path pattern such as "/billing/invoices/:id". */
export function route(pattern, view) {
  const names = [];
  const regex = new RegExp(`^${pattern.replace(/:(\w+)/g, (_, name) => {
    names.push(name);
    return "([^/]+)";
  })}/?$`);
  routes.push({ regex, names, view });
}

/** Find the screen of a path: {view, params} or null. */
export function match(path) {
  for (const { regex, names, view } of routes) {
    const found = regex.exec(path);
    if (found) {
      const params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
      return { view, params };
    }
  }
  return null;
}

/** Go to a path inside the app (pushes history unless replace). */
export function navigate(to, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  return render();
}

/** Render the current location again. */
export function render() {
  renderCount += 1;
  return renderRoute?.(new URL(location.href), renderCount);
}

/** True while `token` is the latest render (a slow screen must not overwrite a newer one). */
export function isCurrent(token) {
  return token === renderCount;
}

/** Start routing: render now, on back/forward, and on clicks of same-origin links. */
export function start(onRoute) {
  renderRoute = onRoute;
  window.addEventListener("popstate", () => render());
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
        event.shiftKey || event.altKey) return;
    const link = event.target.closest("a[href]");
    if (!link || link.target || link.hasAttribute("download")) return;
    const url = new URL(link.href);
    if (url.origin !== location.origin || url.hash && url.pathname === location.pathname) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
  return render();
}
