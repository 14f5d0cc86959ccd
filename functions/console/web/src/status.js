// The status and list pages: htmx 2 polls the post's status (guideline 5e).
// Its settings come from <meta name="htmx-config"> written by the server
// (allowEval false, no injected indicator styles: the CSP allows neither).
import htmx from 'htmx.org';

// htmx's ESM build does not set the global that extensions and the devtools
// console look for.
window.htmx = htmx;
