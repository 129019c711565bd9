//! The reader's own stylesheet and script, in the binary: nothing is
//! loaded from elsewhere.

/// The asset of this name: its type and bytes.
pub(super) fn get(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "reader.css" => Some(("text/css; charset=utf-8", CSS)),
        "reader.js" => Some(("text/javascript; charset=utf-8", JS)),
        _ => None,
    }
}

const CSS: &str = r#"
body { margin: 0; font: 16px/1.55 system-ui, sans-serif; color: #202122; background: #fff; }
header { display: flex; gap: 1em; align-items: center; justify-content: space-between; padding: .5em 1.5em; background: #f8f9fa; border-bottom: 1px solid #c8ccd1; }
header nav a { font-weight: 600; }
form.search input[type=search] { width: 22em; }
main { max-width: 60em; margin: 0 auto; padding: 1em 1.5em 3em; }
h1 { font-family: Georgia, serif; font-weight: normal; border-bottom: 1px solid #a2a9b1; }
a { color: #0645ad; text-decoration: none; }
a:hover { text-decoration: underline; }
a[href$="?absent"] { color: #d73333; }
article .thumb, article figure { float: right; clear: right; margin: .5em 0 1em 1.5em; border: 1px solid #c8ccd1; padding: 3px; background: #f8f9fa; }
article .thumbcaption, article figcaption { font-size: 88%; }
article img { max-width: 100%; height: auto; }
article table.wikitable { border-collapse: collapse; background: #f8f9fa; }
article table.wikitable td, article table.wikitable th { border: 1px solid #a2a9b1; padding: .2em .4em; }
article .infobox { float: right; clear: right; margin: 0 0 1em 1em; border: 1px solid #a2a9b1; background: #f8f9fa; font-size: 88%; }
pre, pre.wikitext { white-space: pre-wrap; background: #f8f9fa; border: 1px solid #eaecf0; padding: 1em; }
p.note, p.redirected, p.absent, footer, span.wiki { color: #54595d; }
p.categories { clear: both; border: 1px solid #a2a9b1; background: #f8f9fa; padding: .3em .6em; }
footer { clear: both; margin-top: 2em; border-top: 1px solid #eaecf0; padding-top: .5em; font-size: 88%; }
ol.results li { margin-bottom: 1em; }
p.snippet { margin: .2em 0; }
mark { background: #fc3; }
table.history { border-collapse: collapse; }
table.history td, table.history th { border-bottom: 1px solid #eaecf0; padding: .2em .6em; text-align: left; }
"#;

/// Title suggestions as one types in a search box: the box's datalist
/// filled from `/read/suggest`; choosing a title opens its page.
const JS: &str = r#"
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("header form.search")) {
    const box = form.querySelector("input[name=q]");
    const list = form.querySelector("datalist");
    const wiki = form.querySelector("input[name=wiki]");
    let urls = new Map();
    let asked = 0;
    box.addEventListener("input", async () => {
      const url = urls.get(box.value);
      if (url) { window.location.assign(url); return; }
      const q = box.value.trim();
      if (q.length < 2) { list.replaceChildren(); return; }
      const n = ++asked;
      const params = new URLSearchParams({ q, wiki: wiki ? wiki.value : "" });
      const answer = await fetch("/read/suggest?" + params);
      if (!answer.ok || n !== asked) return;
      const found = await answer.json();
      urls = new Map(found.map((s) => [s.title, s.url]));
      list.replaceChildren(...found.map((s) => { const o = document.createElement("option"); o.value = s.title; return o; }));
    });
  }
});
"#;
