//! Keyset paging links. The engine returns the cursor of the next page only, so the links carry
//! the cursors of the pages before (`trail`, comma-separated; the first page's is empty) and
//! "Previous" pops the last of them. Cursors are opaque to the server.

use maud::{html, Markup};

pub struct Trail {
    after: Option<String>,
    previous: Option<Vec<String>>,
}

impl Trail {
    /// From the `after` and `trail` query parameters.
    pub fn from_query(after: Option<String>, trail: Option<String>) -> Trail {
        Trail {
            after: after.filter(|a| !a.is_empty()),
            previous: trail.map(|t| t.split(',').map(str::to_owned).collect()),
        }
    }

    /// The cursor of the page shown (None for the first).
    pub fn cursor(&self) -> Option<String> {
        self.after.clone()
    }

    /// "Previous" and "Next" links for the page at `path` with these filters.
    pub fn links(&self, path: &str, filters: &[(&str, String)], next: Option<&str>) -> Markup {
        // Empty filters are left out of the links; an empty trail entry is the first page.
        let filters: Vec<(&str, String)> = filters
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .cloned()
            .collect();
        let previous = self.previous.as_ref().and_then(|trail| {
            let (last, rest) = trail.split_last()?;
            let mut params = filters.clone();
            if !last.is_empty() {
                params.push(("after", last.clone()));
            }
            if !rest.is_empty() {
                params.push(("trail", rest.join(",")));
            }
            Some(link(path, &params))
        });
        let next = next.map(|cursor| {
            let mut trail = self.previous.clone().unwrap_or_default();
            trail.push(self.after.clone().unwrap_or_default());
            let mut params = filters.clone();
            params.push(("after", cursor.to_owned()));
            params.push(("trail", trail.join(",")));
            link(path, &params)
        });
        html! {
            @if previous.is_some() || next.is_some() {
                nav.pager aria-label="Pages" {
                    @if let Some(href) = previous { a href=(href) rel="prev" { "← Previous" } }
                    @if let Some(href) = next { a href=(href) rel="next" { "Next →" } }
                }
            }
        }
    }
}

/// `path?k=v&…`.
pub fn link(path: &str, params: &[(&str, String)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in params {
        query.append_pair(key, value);
    }
    let query = query.finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_then_previous_come_back_to_the_first_page() {
        let first = Trail::from_query(None, None);
        let links = first.links("/users", &[], Some("6162")).into_string();
        assert!(links.contains("/users?after=6162&amp;trail="), "{links}");
        assert!(!links.contains("Previous"));
        let second = Trail::from_query(Some("6162".into()), Some(String::new()));
        let links = second
            .links("/users", &[("q", "x".into())], None)
            .into_string();
        assert!(links.contains(r#"href="/users?q=x""#), "{links}");
        let third = Trail::from_query(Some("63".into()), Some(",6162".into()));
        let links = third.links("/users", &[], None).into_string();
        assert!(links.contains("/users?after=6162&amp;trail="), "{links}");
    }
}
