//! The connected accounts as the command line shows them (`tiktok-publish accounts`) and
//! picks one (`--account`): by open_id, nickname or `@username`, or none at all when a
//! single account is connected. Both work on what `GET /accounts` answered.

use crate::api::AccountView;

/// Why `--account` (or its absence) names no single connected account. Each carries the
/// accounts the user can choose from, so the message lists them.
#[derive(Debug, thiserror::Error)]
pub enum AccountChoiceError {
    #[error("no TikTok account is connected: run `tiktok-publish connect` and open the link")]
    NoneConnected,
    #[error(
        "{} accounts are connected: say which with --account (its open_id, nickname or \
         @username):\n{}",
        .connected.len(), listing(.connected)
    )]
    ChooseOne { connected: Vec<AccountView> },
    #[error(
        "--account {wanted:?} names {} accounts: say which with its open_id:\n{}",
        .matches.len(), listing(.matches)
    )]
    Ambiguous {
        wanted: String,
        matches: Vec<AccountView>,
    },
    #[error(
        "no connected account is {wanted:?} (--account takes an open_id, a nickname or \
         an @username); the connected ones:\n{}",
        listing(.connected)
    )]
    Unknown {
        wanted: String,
        connected: Vec<AccountView>,
    },
}

/// One line per account: `open_id  nickname (@username)`.
fn listing(accounts: &[AccountView]) -> String {
    accounts
        .iter()
        .map(|a| format!("  {}  {}", a.open_id, display_name(a)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `Ann (@ann)`, `Ann`, `@ann`, or `-` when TikTok told us neither.
pub fn display_name(account: &AccountView) -> String {
    match (account.nickname.as_deref(), account.username.as_deref()) {
        (Some(nickname), Some(username)) => format!("{nickname} (@{username})"),
        (Some(nickname), None) => nickname.to_owned(),
        (None, Some(username)) => format!("@{username}"),
        (None, None) => "-".to_owned(),
    }
}

/// The account `wanted` names among `connected`: an exact open_id first; then, for
/// `@name`, the account with that username; otherwise every account whose nickname or
/// username is `wanted` (letter case aside). Without `wanted`, the only connected account.
pub fn choose<'a>(
    connected: &'a [AccountView],
    wanted: Option<&str>,
) -> Result<&'a AccountView, AccountChoiceError> {
    let Some(wanted) = wanted else {
        return match connected {
            [] => Err(AccountChoiceError::NoneConnected),
            [only] => Ok(only),
            _ => Err(AccountChoiceError::ChooseOne {
                connected: connected.to_vec(),
            }),
        };
    };
    if let Some(account) = connected.iter().find(|a| a.open_id == wanted) {
        return Ok(account);
    }
    let same = |name: &Option<String>, wanted: &str| {
        name.as_deref()
            .is_some_and(|name| name.to_lowercase() == wanted.to_lowercase())
    };
    let matches: Vec<&AccountView> = match wanted.strip_prefix('@') {
        Some(username) => connected
            .iter()
            .filter(|a| same(&a.username, username))
            .collect(),
        None => connected
            .iter()
            .filter(|a| same(&a.nickname, wanted) || same(&a.username, wanted))
            .collect(),
    };
    match matches.as_slice() {
        [one] => Ok(one),
        [] if connected.is_empty() => Err(AccountChoiceError::NoneConnected),
        [] => Err(AccountChoiceError::Unknown {
            wanted: wanted.to_owned(),
            connected: connected.to_vec(),
        }),
        several => Err(AccountChoiceError::Ambiguous {
            wanted: wanted.to_owned(),
            matches: several.iter().map(|a| (*a).clone()).collect(),
        }),
    }
}

/// The `accounts` command's table: who each account is and whether it must reconnect.
pub fn table(accounts: &[AccountView]) -> String {
    if accounts.is_empty() {
        return "No connected accounts: run `tiktok-publish connect` and open the link.\n".into();
    }
    let rows: Vec<[String; 5]> = accounts
        .iter()
        .map(|a| {
            let status = if a.needs_reconnect {
                let why = a.reconnect_reason.as_deref().unwrap_or("access lost");
                let missing = if a.missing_scopes.is_empty() {
                    String::new()
                } else {
                    format!(", missing {}", a.missing_scopes.join(" "))
                };
                format!("RECONNECT ({why}{missing}): run `tiktok-publish connect`")
            } else if a.drafts_only {
                "drafts only (no video.publish; reconnect to post directly)".into()
            } else {
                "ok".into()
            };
            [
                a.open_id.clone(),
                a.nickname.clone().unwrap_or_else(|| "-".into()),
                a.username
                    .as_deref()
                    .map_or_else(|| "-".into(), |u| format!("@{u}")),
                a.refresh_expires_at.clone().unwrap_or_else(|| "-".into()),
                status,
            ]
        })
        .collect();
    let header = [
        "OPEN_ID",
        "NICKNAME",
        "USERNAME",
        "CONNECTED UNTIL",
        "STATUS",
    ]
    .map(str::to_owned);
    let mut widths = [0; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 5]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i == cells.len() - 1 {
                out.push_str(cell);
            } else {
                // `{:<w$}` pads by chars, so a nickname with accents keeps the columns.
                out.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(&header);
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(open_id: &str, nickname: Option<&str>, username: Option<&str>) -> AccountView {
        AccountView {
            open_id: open_id.into(),
            nickname: nickname.map(Into::into),
            username: username.map(Into::into),
            needs_reconnect: false,
            reconnect_reason: None,
            missing_scopes: vec![],
            drafts_only: false,
            refresh_expires_at: Some("2027-01-01T00:00:00Z".into()),
        }
    }

    #[test]
    fn an_upload_only_account_is_listed_as_drafts_only() {
        let mut upload_only = account("-000dee", Some("Dee"), None);
        upload_only.drafts_only = true;
        upload_only.missing_scopes = vec!["video.publish".into()];
        let table = table(&[upload_only, account("-000bob", Some("Bob"), None)]);
        let status_of = |open_id: &str| {
            let row = table.lines().find(|l| l.starts_with(open_id)).unwrap();
            row.split("  ")
                .filter(|c| !c.is_empty())
                .last()
                .unwrap()
                .trim()
                .to_owned()
        };
        assert!(status_of("-000dee").starts_with("drafts only"), "{table}");
        assert_eq!(status_of("-000bob"), "ok", "{table}");
    }

    fn connected() -> Vec<AccountView> {
        vec![
            account("-000ann", Some("Ann"), Some("ann.creator")),
            account("-000bob", Some("Bob"), Some("bob")),
            account("-000ann2", Some("Ann"), None),
        ]
    }

    fn open_ids(accounts: &[AccountView]) -> Vec<&str> {
        accounts.iter().map(|a| a.open_id.as_str()).collect()
    }

    #[test]
    fn an_open_id_names_its_account() {
        let accounts = connected();
        assert_eq!(
            choose(&accounts, Some("-000ann2")).unwrap().open_id,
            "-000ann2"
        );
    }

    #[test]
    fn a_unique_nickname_names_its_account() {
        let accounts = connected();
        assert_eq!(choose(&accounts, Some("Bob")).unwrap().open_id, "-000bob");
        assert_eq!(choose(&accounts, Some("bob")).unwrap().open_id, "-000bob");
    }

    #[test]
    fn an_at_username_names_its_account() {
        let accounts = connected();
        assert_eq!(
            choose(&accounts, Some("@ann.creator")).unwrap().open_id,
            "-000ann"
        );
        // A username without the @ works too, when it names one account.
        assert_eq!(
            choose(&accounts, Some("ann.creator")).unwrap().open_id,
            "-000ann"
        );
    }

    #[test]
    fn no_account_flag_picks_the_only_account() {
        let accounts = vec![account("-000solo", None, None)];
        assert_eq!(choose(&accounts, None).unwrap().open_id, "-000solo");
    }

    #[test]
    fn no_account_flag_with_two_accounts_is_refused_listing_them() {
        let accounts = connected()[..2].to_vec();
        let error = choose(&accounts, None).unwrap_err();
        let AccountChoiceError::ChooseOne { connected } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(open_ids(connected), ["-000ann", "-000bob"]);
        assert!(matches!(
            choose(&[], None),
            Err(AccountChoiceError::NoneConnected)
        ));
    }

    #[test]
    fn an_ambiguous_nickname_is_refused_listing_the_matches() {
        let accounts = connected();
        let error = choose(&accounts, Some("Ann")).unwrap_err();
        let AccountChoiceError::Ambiguous { wanted, matches } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(wanted, "Ann");
        assert_eq!(open_ids(matches), ["-000ann", "-000ann2"]);
    }

    #[test]
    fn an_unknown_name_is_refused_listing_the_accounts() {
        let accounts = connected();
        for wanted in ["Carol", "@bobby", "@Ann"] {
            let error = choose(&accounts, Some(wanted)).unwrap_err();
            let AccountChoiceError::Unknown {
                wanted: said,
                connected,
            } = &error
            else {
                panic!("{wanted}: {error:?}");
            };
            assert_eq!(said, wanted);
            assert_eq!(open_ids(connected), open_ids(&accounts));
        }
    }

    #[test]
    fn the_listing_in_a_refusal_names_every_choice() {
        let error = choose(&connected(), Some("Ann")).unwrap_err().to_string();
        for open_id in ["-000ann", "-000ann2"] {
            assert!(error.contains(open_id), "{error}");
        }
    }

    #[test]
    fn the_table_shows_nickname_and_username() {
        let table = table(&[
            account("-000ann", Some("Ann"), Some("ann.creator")),
            account("-000new", None, None),
        ]);
        let mut lines = table.lines();
        let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(header[..3], ["OPEN_ID", "NICKNAME", "USERNAME"]);
        let ann: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(ann[..3], ["-000ann", "Ann", "@ann.creator"]);
        let new: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(new[..3], ["-000new", "-", "-"]);
    }
}
