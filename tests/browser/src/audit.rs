//! What the console's pages are checked for beyond behaviour: accessibility with axe-core
//! (the npm package the root package-lock.json pins), and the screenshots the audit kit
//! (docs/tiktok-audit.md) shows.

use std::path::PathBuf;

use anyhow::{Context, Result, ensure};
use serde::Deserialize;

use crate::chromium::Tab;

/// axe-core's browser build, read from node_modules.
fn axe_source() -> Result<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../node_modules/axe-core/axe.min.js"
    );
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {path}: run `npm ci` at the repository root"))
}

/// One rule axe found broken, with the elements that break it.
#[derive(Debug, Deserialize)]
pub struct Violation {
    pub id: String,
    pub impact: String,
    pub nodes: Vec<serde_json::Value>,
}

/// The serious or critical WCAG 2.1 A/AA violations axe-core finds on the tab's page.
pub async fn serious_violations(tab: &Tab) -> Result<Vec<Violation>> {
    // Injected through DevTools, which the page's CSP does not govern.
    let injected: bool = tab
        .evaluate(&format!(
            "(() => {{ {}\n; return typeof axe === 'object'; }})()",
            axe_source()?
        ))
        .await?;
    ensure!(injected, "axe-core did not load into the page");
    Ok(tab
        .evaluate(
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', \
             'wcag21a', 'wcag21aa']}}).then((r) => r.violations \
             .filter((v) => v.impact === 'serious' || v.impact === 'critical') \
             .map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target)})))",
        )
        .await?)
}

/// Fails when axe-core finds a serious or critical violation on `page`'s current view.
pub async fn assert_accessible(tab: &Tab, page: &str) -> Result<()> {
    let violations = serious_violations(tab).await?;
    ensure!(
        violations.is_empty(),
        "axe-core: serious or critical violations on {page}: {violations:?}"
    );
    Ok(())
}

/// With `CONSOLE_SCREENSHOTS=1`, saves the tab's page as `docs/screenshots/{name}.png` (the
/// audit kit's pictures); otherwise does nothing, so test runs leave the tree as it was.
pub async fn screenshot(tab: &Tab, name: &str) -> Result<()> {
    if std::env::var("CONSOLE_SCREENSHOTS").as_deref() != Ok("1") {
        return Ok(());
    }
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/screenshots"
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, tab.screenshot().await?)
        .with_context(|| format!("cannot write {}", path.display()))
}
