//! The segment of a visit: device category, traffic source, new or returning.
//!
//! Rules, in order: UTM parameters on the landing URL (`utm_source`, `utm_medium`,
//! `utm_campaign`); else a click id (`gclid` → google / cpc, `fbclid` → facebook / social,
//! `msclkid` → bing / cpc); else a referrer on another host (a known search engine → organic,
//! any other → referral); else `(direct)` / `(none)`.

use crate::event::{query_param, split_url};
use crate::host::Host;
use crate::json::{obj, Value};
use crate::text::contains;

/// What the segment is computed from.
pub struct Visit<'a> {
    /// The landing page's URL.
    pub url: &'a str,
    /// The landing page's referrer.
    pub referrer: &'a str,
    /// The browser's user agent.
    pub user_agent: &'a str,
    /// Whether this visitor had a session before.
    pub returning: bool,
}

/// The segment of a visit, as sent on every event.
pub fn segment(visit: &Visit<'_>, host: &dyn Host) -> Value {
    let (source, medium, campaign) = traffic(visit.url, visit.referrer, host);
    obj(vec![
        ("device", device(visit.user_agent).into()),
        ("source", source.into()),
        ("medium", medium.into()),
        ("campaign", campaign.into()),
        ("returning", visit.returning.into()),
        ("landing", split_url(visit.url).1.into()),
    ])
}

/// `mobile`, `tablet` or `desktop`, from the user agent.
pub fn device(user_agent: &str) -> &'static str {
    let ua = user_agent.to_ascii_lowercase();
    let has = |needle| contains(&ua, needle);
    if has("ipad") || has("tablet") || (has("android") && !has("mobile")) {
        "tablet"
    } else if has("mobi") || has("iphone") || has("android") {
        "mobile"
    } else {
        "desktop"
    }
}

const SEARCH_ENGINES: &[&str] =
    &["google.", "bing.", "duckduckgo.", "yahoo.", "ecosia.", "baidu.", "yandex."];

fn traffic(url: &str, referrer: &str, host: &dyn Host) -> (String, String, String) {
    let query_param = |url, name| query_param(url, name, host);
    let campaign = query_param(url, "utm_campaign").unwrap_or_default();
    if let Some(source) = query_param(url, "utm_source") {
        let medium = query_param(url, "utm_medium").unwrap_or_else(|| "(not set)".into());
        return (source, medium, campaign);
    }
    for (id, source, medium) in
        [("gclid", "google", "cpc"), ("fbclid", "facebook", "social"), ("msclkid", "bing", "cpc")]
    {
        if query_param(url, id).is_some() {
            return (source.into(), medium.into(), campaign);
        }
    }
    let (own_host, _) = split_url(url);
    let (ref_host, _) = split_url(referrer);
    if referrer.is_empty() || ref_host == own_host {
        return ("(direct)".into(), "(none)".into(), campaign);
    }
    let host = ref_host.strip_prefix("www.").unwrap_or(ref_host);
    let engine = SEARCH_ENGINES.iter().find(|e| contains(host, e));
    match engine {
        Some(e) => (e.get(..e.len() - 1).unwrap_or(e).into(), "organic".into(), campaign),
        None => (host.into(), "referral".into(), campaign),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn visit<'a>(url: &'a str, referrer: &'a str) -> Value {
        let visit = Visit {
            url,
            referrer,
            user_agent: "Mozilla/5.0 (X11; Linux x86_64)",
            returning: false,
        };
        segment(&visit, &crate::host::NativeHost::default())
    }

    #[test]
    fn utm_parameters_win_over_the_referrer() {
        let s = visit(
            "https://s.example/?utm_source=news&utm_medium=email&utm_campaign=spring",
            "https://www.google.com/",
        );
        assert_eq!(s.get("source"), Some(&"news".into()));
        assert_eq!(s.get("medium"), Some(&"email".into()));
        assert_eq!(s.get("campaign"), Some(&"spring".into()));
    }

    #[test]
    fn click_ids_search_engines_referrals_and_direct() {
        assert_eq!(visit("https://s.example/?gclid=x", "").get("medium"), Some(&"cpc".into()));
        let organic = visit("https://s.example/", "https://www.google.co.uk/search");
        assert_eq!(
            (organic.get("source"), organic.get("medium")),
            (Some(&"google".into()), Some(&"organic".into()))
        );
        let referral = visit("https://s.example/", "https://blog.example.org/post");
        assert_eq!(referral.get("source"), Some(&"blog.example.org".into()));
        let internal = visit("https://s.example/b", "https://s.example/a");
        assert_eq!(internal.get("source"), Some(&"(direct)".into()));
    }

    #[test]
    fn devices_from_user_agents() {
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148";
        let android_tablet = "Mozilla/5.0 (Linux; Android 14; SM-X200) Safari/537.36";
        let android_phone = "Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36";
        assert_eq!(device(iphone), "mobile");
        assert_eq!(device(android_tablet), "tablet");
        assert_eq!(device(android_phone), "mobile");
        assert_eq!(device("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"), "desktop");
    }
}
