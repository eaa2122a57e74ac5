/** What every portlab page shares: text made safe for HTML, and one inline style sheet. */

export const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** Everything inline, nothing fetched (the policy forbids it), nothing scripted: the page opens from disk as it is. */
export const PAGE_STYLE = `
  body { font: 15px/1.45 system-ui, sans-serif; color: #24292f; max-width: 1000px; margin: 2rem auto; padding: 0 1rem; }
  h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
  .verdict { display: inline-block; padding: .1rem .6rem; border-radius: 4px; color: #fff; font-size: 1.1rem; vertical-align: middle; }
  .verdict.pass { background: #1a7f37; } .verdict.fail { background: #cf222e; } .verdict.error { background: #9a6700; } .verdict.aborted { background: #57606a; } .verdict.incomplete { background: #bf8700; }
  .muted { color: #57606a; } dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
  dt { font-weight: 600; } dd { margin: 0; }
  table { border-collapse: collapse; width: 100%; font-size: .9rem; } th, td { border: 1px solid #d0d7de; padding: .25rem .5rem; text-align: left; vertical-align: top; }
  th { background: #f6f8fa; } td.number { text-align: right; font-variant-numeric: tabular-nums; } tr.total td { font-weight: 600; }
  td.pass { color: #1a7f37; font-weight: 600; } td.fail { color: #cf222e; font-weight: 600; } td.error { color: #9a6700; font-weight: 600; } td.aborted, td.not-judged { color: #57606a; font-weight: 600; } td.incomplete { color: #bf8700; font-weight: 600; } td.measured { color: #0969da; font-weight: 600; }
  figure { margin: 1.5rem 0; } figcaption { color: #57606a; font-size: .9rem; max-width: 760px; } svg { max-width: 100%; height: auto; }
  ul.reasoning { font-family: ui-monospace, monospace; font-size: .85rem; } .note { background: #fff8c5; padding: .5rem .75rem; border-radius: 4px; }
`;

/** The Content-Security-Policy of every page: nothing may be fetched, nothing run. */
export const NO_FETCH_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** The start of every portlab page, up to its <body>: nothing fetched, nothing run, one inline style sheet. */
export const pageHead = (title: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${NO_FETCH_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>`;

/** A verdict as a CSS class name ("not judged" -> "not-judged"). */
export const verdictClass = (verdict: string) => verdict.replace(/\s+/g, '-');
