//! The customer list's query: search, filters, sort and page, parsed leniently from a
//! URL's query string (a bad value falls back to the default rather than failing).

use serde::{Deserialize, Serialize};

use crate::churn::Risk;
use crate::customers::{Stage, Tier};

/// Columns the customer list can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortKey {
    Name,
    Mrr,
    Renewal,
    LastSeen,
    Created,
    /// The current health score (worst first on a first click).
    Health,
    /// The churn risk and probability (riskiest first on a first click).
    Churn,
}

impl SortKey {
    pub const ALL: [SortKey; 7] = [
        SortKey::Name,
        SortKey::Mrr,
        SortKey::Renewal,
        SortKey::LastSeen,
        SortKey::Created,
        SortKey::Health,
        SortKey::Churn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Mrr => "mrr",
            SortKey::Renewal => "renewal",
            SortKey::LastSeen => "last_seen",
            SortKey::Created => "created",
            SortKey::Health => "health",
            SortKey::Churn => "churn",
        }
    }

    pub fn parse(raw: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// The direction a first click on this column sorts in: biggest money and most
    /// recent activity first, names A→Z, nearest renewal first, worst health first,
    /// riskiest first.
    pub fn natural_desc(self) -> bool {
        matches!(
            self,
            SortKey::Mrr | SortKey::LastSeen | SortKey::Created | SortKey::Churn
        )
    }
}

/// Page sizes offered.
pub const PAGE_SIZES: [u64; 4] = [25, 50, 100, 200];
/// Longest search text used (longer input is cut).
pub const MAX_SEARCH_LEN: usize = 100;

/// What the customer list shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerQuery {
    /// Matched against name, domain and external id, case-insensitively.
    pub search: String,
    pub tier: Option<Tier>,
    pub stage: Option<Stage>,
    /// Owner user id; `Some(0)` means "no owner".
    pub owner: Option<i64>,
    /// Churn risk band.
    #[serde(default)]
    pub risk: Option<Risk>,
    pub include_archived: bool,
    pub sort: SortKey,
    pub desc: bool,
    /// 1-based.
    pub page: u64,
    pub per_page: u64,
}

impl Default for CustomerQuery {
    fn default() -> Self {
        Self {
            search: String::new(),
            tier: None,
            stage: None,
            owner: None,
            risk: None,
            include_archived: false,
            sort: SortKey::Name,
            desc: false,
            page: 1,
            per_page: 50,
        }
    }
}

impl CustomerQuery {
    /// Builds a query from URL parameters (`q`, `tier`, `stage`, `owner`, `risk`, `archived`,
    /// `sort`, `dir`, `page`, `per_page`) looked up through `get`.
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> CustomerQuery {
        let d = CustomerQuery::default();
        let search: String = get("q")
            .unwrap_or_default()
            .trim()
            .chars()
            .take(MAX_SEARCH_LEN)
            .collect();
        let sort = get("sort")
            .and_then(|s| SortKey::parse(&s))
            .unwrap_or(d.sort);
        let desc = match get("dir").as_deref() {
            Some("desc") => true,
            Some("asc") => false,
            _ => sort.natural_desc(),
        };
        let per_page = get("per_page")
            .and_then(|p| p.parse().ok())
            .filter(|p| PAGE_SIZES.contains(p))
            .unwrap_or(d.per_page);
        CustomerQuery {
            search,
            tier: get("tier").and_then(|t| Tier::parse(&t)),
            stage: get("stage").and_then(|s| Stage::parse(&s)),
            owner: get("owner").and_then(|o| {
                if o == "none" {
                    Some(0)
                } else {
                    o.parse().ok().filter(|v: &i64| *v > 0)
                }
            }),
            risk: get("risk").and_then(|r| Risk::parse(&r)),
            include_archived: get("archived").is_some_and(|a| a == "1" || a == "true" || a == "on"),
            sort,
            desc,
            page: get("page")
                .and_then(|p| p.parse().ok())
                .filter(|p: &u64| (1..=1_000_000).contains(p))
                .unwrap_or(1),
            per_page,
        }
    }

    /// The URL parameters that reproduce this query (defaults left out).
    pub fn to_params(&self) -> Vec<(&'static str, String)> {
        let d = CustomerQuery::default();
        let mut p = Vec::new();
        if !self.search.is_empty() {
            p.push(("q", self.search.clone()));
        }
        if let Some(t) = self.tier {
            p.push(("tier", t.as_str().into()));
        }
        if let Some(s) = self.stage {
            p.push(("stage", s.as_str().into()));
        }
        if let Some(o) = self.owner {
            p.push(("owner", if o == 0 { "none".into() } else { o.to_string() }));
        }
        if let Some(r) = self.risk {
            p.push(("risk", r.as_str().into()));
        }
        if self.include_archived {
            p.push(("archived", "1".into()));
        }
        if self.sort != d.sort {
            p.push(("sort", self.sort.as_str().into()));
        }
        if self.desc != self.sort.natural_desc() {
            p.push(("dir", if self.desc { "desc" } else { "asc" }.into()));
        }
        if self.page != 1 {
            p.push(("page", self.page.to_string()));
        }
        if self.per_page != d.per_page {
            p.push(("per_page", self.per_page.to_string()));
        }
        p
    }

    /// The same query with every value in range, whatever a client sent: what the server
    /// runs (the JSON endpoint bypasses [`Self::from_params`]).
    pub fn normalized(&self) -> CustomerQuery {
        let d = CustomerQuery::default();
        CustomerQuery {
            search: self.search.trim().chars().take(MAX_SEARCH_LEN).collect(),
            page: self.page.clamp(1, MAX_PAGE),
            per_page: if PAGE_SIZES.contains(&self.per_page) {
                self.per_page
            } else {
                d.per_page
            },
            ..self.clone()
        }
    }

    /// Rows to skip for this page.
    pub fn offset(&self) -> u64 {
        (self.page - 1) * self.per_page
    }

    /// The same query sorted by `key`: toggles direction when already sorted by it.
    pub fn sorted_by(&self, key: SortKey) -> CustomerQuery {
        let desc = if self.sort == key {
            !self.desc
        } else {
            key.natural_desc()
        };
        CustomerQuery {
            sort: key,
            desc,
            page: 1,
            ..self.clone()
        }
    }

    /// The same query on another page.
    pub fn on_page(&self, page: u64) -> CustomerQuery {
        CustomerQuery {
            page: page.max(1),
            ..self.clone()
        }
    }
}

/// Highest page number any list accepts (0-based lists: `MAX_PAGE - 1`).
pub const MAX_PAGE: u64 = 1_000_000;

/// The rows to skip for 0-based `page` of `per_page` rows.
///
/// # Errors
/// A user-facing reason when the page is beyond [`MAX_PAGE`] (a client asking for page
/// 2^64 is refused, not answered with an overflow).
pub fn page_offset(page: u64, per_page: u64) -> Result<u64, String> {
    if page >= MAX_PAGE {
        return Err(format!("page must be below {MAX_PAGE}"));
    }
    page.checked_mul(per_page)
        .ok_or_else(|| format!("page must be below {MAX_PAGE}"))
}

/// Number of pages for `total` rows (at least 1).
pub fn page_count(total: u64, per_page: u64) -> u64 {
    total.div_ceil(per_page.max(1)).max(1)
}

/// Escapes `%`, `_` and `\` for a SQL `LIKE … ESCAPE '\'` pattern and wraps it in `%`.
pub fn like_contains_pattern(search: &str) -> String {
    let mut out = String::with_capacity(search.len() + 2);
    out.push('%');
    for c in search.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn q(pairs: &[(&str, &str)]) -> CustomerQuery {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        CustomerQuery::from_params(|k| m.get(k).cloned())
    }

    #[test]
    fn page_offsets_refuse_absurd_pages() {
        assert_eq!(page_offset(0, 50), Ok(0));
        assert_eq!(page_offset(3, 50), Ok(150));
        assert!(page_offset(u64::MAX, 50).is_err());
        assert!(page_offset(MAX_PAGE, 50).is_err());
    }

    #[test]
    fn defaults_and_lenient_parsing() {
        assert_eq!(q(&[]), CustomerQuery::default());
        let bad = q(&[
            ("tier", "gold"),
            ("page", "-3"),
            ("per_page", "7"),
            ("sort", "drop table"),
            ("owner", "x"),
        ]);
        assert_eq!(bad, CustomerQuery::default());
    }

    #[test]
    fn round_trips_through_params() {
        let query = q(&[
            ("q", "acme"),
            ("tier", "enterprise"),
            ("stage", "at_risk"),
            ("owner", "none"),
            ("risk", "high"),
            ("archived", "1"),
            ("sort", "mrr"),
            ("dir", "asc"),
            ("page", "3"),
            ("per_page", "100"),
        ]);
        assert_eq!(query.owner, Some(0));
        assert_eq!(query.risk, Some(Risk::High));
        assert!(!query.desc);
        let params = query.to_params();
        let m: HashMap<String, String> = params
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(CustomerQuery::from_params(|k| m.get(k).cloned()), query);
        assert_eq!(query.offset(), 200);
    }

    #[test]
    fn sorting_toggles_and_resets_page() {
        let query = q(&[("page", "4")]);
        let by_mrr = query.sorted_by(SortKey::Mrr);
        assert!(by_mrr.desc);
        assert_eq!(by_mrr.page, 1);
        assert!(!by_mrr.sorted_by(SortKey::Mrr).desc);
    }

    #[test]
    fn normalized_bounds_what_a_client_sends() {
        let wild = CustomerQuery {
            page: 0,
            per_page: 1_000_000,
            search: "x".repeat(1000),
            ..Default::default()
        };
        let n = wild.normalized();
        assert_eq!(
            (n.page, n.per_page, n.search.len()),
            (1, 50, MAX_SEARCH_LEN)
        );
        assert_eq!(n.offset(), 0);
        let big = CustomerQuery {
            page: u64::MAX,
            ..Default::default()
        }
        .normalized();
        assert_eq!(big.page, 1_000_000);
    }

    #[test]
    fn long_search_is_cut() {
        assert_eq!(q(&[("q", &"a".repeat(500))]).search.len(), MAX_SEARCH_LEN);
    }

    #[test]
    fn pages_and_like_escaping() {
        assert_eq!(page_count(0, 50), 1);
        assert_eq!(page_count(101, 50), 3);
        assert_eq!(like_contains_pattern("50%_Off\\"), "%50\\%\\_off\\\\%");
    }
}
