// The dashboard's Content-Security-Policy as the browser applies it, for the
// browser tests: the policy served, and every violation a page reports.
import assert from 'node:assert/strict';

/**
 * Has every page of the context log its securitypolicyviolation events to the
 * console (an init script, which the policy does not govern), next to the
 * "... violates the following Content Security Policy directive" lines
 * Chromium logs itself.
 */
export function logCspViolationEvents(context) {
  return context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`securitypolicyviolation: ${e.effectiveDirective} blocked ${e.blockedURI}`);
    });
  });
}

/** Appends the page's CSP violations to `into`, as they come; returns it. */
export function watchCsp(page, into = []) {
  page.on('console', (msg) => {
    if (/Content Security Policy|securitypolicyviolation/.test(msg.text())) into.push(`CSP: ${msg.text()}`);
  });
  return into;
}

/** The page's policy as served: present, so "no violations" means something. */
export function assertPolicy(response) {
  const policy = response.headers()['content-security-policy'] ?? '';
  assert.match(policy, /script-src 'self'/);
  assert.match(policy, /frame-ancestors 'none'/);
  return policy;
}
