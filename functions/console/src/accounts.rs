//! The Accounts page: each connected account, Connect (the OAuth flow's single-use link)
//! and Disconnect (revoke at TikTok, cancel queued posts, forget the account).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::app::Console;
use crate::pages::{self, html};
use crate::signin::{CsrfForm, SignedIn};

pub async fn page(State(console): State<Console>, signed_in: SignedIn) -> Response {
    accounts_page(&console, &signed_in, None).await
}

async fn accounts_page(
    console: &Console,
    signed_in: &SignedIn,
    notice: Option<String>,
) -> Response {
    match console.api.account_views().await {
        Ok(accounts) => html(
            StatusCode::OK,
            &pages::Accounts {
                site: console.page(&signed_in.session.email, signed_in.csrf()),
                accounts,
                notice,
            },
        ),
        Err(err) => crate::posting::api_error_page(console, signed_in, "Accounts", &err),
    }
}

pub async fn connect(
    State(console): State<Console>,
    signed_in: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = signed_in.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let caller = format!("console:{}", signed_in.session.email);
    match console.api.new_connect_link(Some(&caller)).await {
        Ok(link) => Redirect::to(link.expose()).into_response(),
        Err(err) => accounts_page(&console, &signed_in, Some(err.message)).await,
    }
}

pub async fn disconnect(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(open_id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = signed_in.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let answer = console.api.disconnect_account(&open_id).await;
    let notice = if answer.status == 200 {
        let cancelled = answer.body["cancelled_posts"]
            .as_array()
            .map_or(0, Vec::len);
        format!(
            "Disconnected {open_id}: its access at TikTok is revoked and its tokens are \
             deleted; {cancelled} queued post(s) were cancelled."
        )
    } else {
        answer.body["error"]["message"]
            .as_str()
            .unwrap_or("the account could not be disconnected")
            .to_owned()
    };
    accounts_page(&console, &signed_in, Some(notice)).await
}
