//! What a page load weighs on the wire, as Chromium counts it: for the console's bench
//! (tests/bench, `console-bench`).

use std::collections::HashMap;
use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::network::{
    ClearBrowserCacheParams, EventLoadingFinished, EventRequestWillBeSent, RequestId,
    SetCacheDisabledParams,
};
use futures::StreamExt;

use crate::chromium::{BrowserError, Tab, devtools};
use crate::without_query;

/// One response of a page load.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// The URL without its query.
    pub url: String,
    /// Chromium's `encodedDataLength`: the response's headers and (compressed) body as
    /// received.
    pub bytes: u64,
}

impl Tab {
    /// Navigates to `url` as a first visit (the browser's cache emptied first; cookies
    /// kept) and answers each response the load received, once no request started or
    /// finished for `quiet` (the page's module scripts and styles included). Open the tab
    /// on `about:blank` first: a tab opened on `url` starts loading before anything listens.
    pub async fn load_weighing(
        &self,
        url: &str,
        quiet: Duration,
    ) -> Result<Vec<Transfer>, BrowserError> {
        let page = self.page();
        page.execute(ClearBrowserCacheParams::default())
            .await
            .map_err(devtools("empty the cache"))?;
        // Emptying the disk cache leaves the renderer's memory cache: a script an earlier
        // page of the visit loaded would come from there, without a network event.
        page.execute(SetCacheDisabledParams::new(true))
            .await
            .map_err(devtools("turn the cache off"))?;
        let mut started = page
            .event_listener::<EventRequestWillBeSent>()
            .await
            .map_err(devtools("listen for requests"))?;
        let mut finished = page
            .event_listener::<EventLoadingFinished>()
            .await
            .map_err(devtools("listen for finished loads"))?;
        page.goto(url)
            .await
            .map_err(devtools(format!("load {}", without_query(url))))?;
        let mut urls: HashMap<RequestId, String> = HashMap::new();
        let mut sizes: Vec<(RequestId, f64)> = Vec::new();
        loop {
            tokio::select! {
                Some(event) = started.next() => {
                    urls.insert(event.request_id.clone(), without_query(&event.request.url));
                }
                Some(event) = finished.next() => {
                    sizes.push((event.request_id.clone(), event.encoded_data_length));
                }
                () = tokio::time::sleep(quiet) => break,
            }
        }
        Ok(sizes
            .into_iter()
            .map(|(id, bytes)| Transfer {
                url: urls.remove(&id).unwrap_or_else(|| "<unknown>".to_owned()),
                // A byte count, reported as a float by the protocol.
                bytes: bytes.max(0.0).round() as u64,
            })
            .collect())
    }
}
