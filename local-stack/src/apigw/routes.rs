//! Route selection as API Gateway HTTP APIs do it, on `matchit`: the most
//! specific path wins (a literal segment before a `{variable}`, a variable
//! before a greedy `{proxy+}`), an explicit method before `ANY`, and
//! `$default` when nothing else matches.

use std::collections::BTreeMap;

use matchit::Router;

use crate::template::Route;

/// The chosen route and the path's variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch<'a> {
    pub route: &'a Route,
    pub route_key: String,
    /// Decoded values, in path order.
    pub path_parameters: Vec<(String, String)>,
}

/// One router per explicit method (its own routes, then the `ANY` routes
/// of paths it has none for), one for every other method (`ANY` routes
/// only). A value is an index into `routes`.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
    by_method: BTreeMap<String, Router<usize>>,
    any: Router<usize>,
    default: Option<usize>,
}

/// The template's path in matchit's syntax: `{name+}` is `{*name}`.
fn matchit_path(path: &str) -> String {
    path.split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
                Some(greedy) => format!("{{*{greedy}}}"),
                None => s.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// Adds a route unless the path is already there (the template module refuses two
/// routes with the same key, so that is an explicit method over `ANY`).
fn insert(router: &mut Router<usize>, path: &str, index: usize) {
    // A conflict is a path the router already has in another spelling
    // (`{a}` and `{b}` at the same place); API Gateway would refuse the
    // second one at deployment, so the first one answers here.
    let _ = router.insert(matchit_path(path), index);
}

/// Percent-decodes a path segment (`+` stays `+`: paths are not forms).
/// Invalid escapes are kept as written; invalid UTF-8 is replaced.
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

impl RouteTable {
    pub fn new<'a>(routes: impl IntoIterator<Item = &'a Route>) -> RouteTable {
        let mut table = RouteTable {
            routes: routes.into_iter().cloned().collect(),
            ..RouteTable::default()
        };
        let explicit = table
            .routes
            .iter()
            .enumerate()
            .filter(|(_, r)| r.method != "ANY");
        for (i, r) in explicit.filter(|(_, r)| r.path != "$default") {
            insert(
                table.by_method.entry(r.method.clone()).or_default(),
                &r.path,
                i,
            );
        }
        for (i, r) in table.routes.iter().enumerate() {
            if r.path == "$default" {
                table.default.get_or_insert(i);
            } else if r.method == "ANY" {
                insert(&mut table.any, &r.path, i);
                for router in table.by_method.values_mut() {
                    insert(router, &r.path, i);
                }
            }
        }
        table
    }

    pub fn find(&self, method: &str, raw_path: &str) -> Option<RouteMatch<'_>> {
        let router = self.by_method.get(method).unwrap_or(&self.any);
        let (index, path_parameters) = match router.at(raw_path) {
            Ok(m) => (
                *m.value,
                m.params
                    .iter()
                    .map(|(k, v)| (k.to_string(), percent_decode(v)))
                    .collect(),
            ),
            Err(_) => (self.default?, Vec::new()),
        };
        let route = &self.routes[index];
        Some(RouteMatch {
            route,
            route_key: route.route_key(),
            path_parameters,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(function: &str, method: &str, path: &str) -> Route {
        Route {
            function: function.into(),
            method: method.into(),
            path: path.into(),
        }
    }

    fn table() -> (Vec<Route>, RouteTable) {
        let routes = vec![
            route("epoch-stats", "GET", "/v1/inference/current"),
            route("epoch-stats", "GET", "/v1/inference/epochs/{epoch_id}"),
            route("participant", "GET", "/v1/participants/{participant_id}"),
            route("files", "ANY", "/files/{proxy+}"),
            route("special", "GET", "/v1/inference/epochs/latest"),
        ];
        let table = RouteTable::new(&routes);
        (routes, table)
    }

    #[test]
    fn matches_like_api_gateway() {
        let (_, t) = table();
        let m = t.find("GET", "/v1/inference/epochs/59").unwrap();
        assert_eq!(m.route.function, "epoch-stats");
        assert_eq!(m.route_key, "GET /v1/inference/epochs/{epoch_id}");
        assert_eq!(
            m.path_parameters,
            [("epoch_id".to_string(), "59".to_string())]
        );
        // A literal route beats a variable one.
        assert_eq!(
            t.find("GET", "/v1/inference/epochs/latest")
                .unwrap()
                .route
                .function,
            "special"
        );
        let m = t.find("GET", "/v1/participants/gonka1%20x").unwrap();
        assert_eq!(m.path_parameters[0].1, "gonka1 x");
        let m = t.find("DELETE", "/files/a/b%2Fc").unwrap();
        assert_eq!(m.route_key, "ANY /files/{proxy+}");
        assert_eq!(
            m.path_parameters,
            [("proxy".to_string(), "a/b/c".to_string())]
        );
        // GET has routes of its own, and the ANY ones too.
        assert_eq!(t.find("GET", "/files/x").unwrap().route.function, "files");
    }

    /// The repository's routes: a literal suffix segment (`history.svg`)
    /// is its own route beside the one it starts like.
    #[test]
    fn the_repos_history_routes_are_told_apart() {
        let text = include_str!("../../../template.yaml");
        let template = crate::template::Template::parse(text, &[]).unwrap();
        let t = RouteTable::new(template.routes());
        for (path, key) in [
            (
                "/v1/participants/gonka1x/history",
                "GET /v1/participants/{participant_id}/history",
            ),
            (
                "/v1/participants/gonka1x/history.svg",
                "GET /v1/participants/{participant_id}/history.svg",
            ),
            ("/v1/network/history", "GET /v1/network/history"),
        ] {
            let m = t.find("GET", path).unwrap();
            assert_eq!(m.route_key, key);
        }
    }

    #[test]
    fn explicit_method_before_any() {
        let routes = vec![
            route("any", "ANY", "/items/{id}"),
            route("get", "GET", "/items/{id}"),
            route("literal", "ANY", "/items/all"),
        ];
        let t = RouteTable::new(&routes);
        assert_eq!(t.find("GET", "/items/1").unwrap().route.function, "get");
        assert_eq!(t.find("POST", "/items/1").unwrap().route.function, "any");
        // The more specific path wins over the explicit method.
        assert_eq!(
            t.find("GET", "/items/all").unwrap().route.function,
            "literal"
        );
    }

    #[test]
    fn refuses_what_api_gateway_refuses() {
        let (_, t) = table();
        assert!(t.find("POST", "/v1/inference/current").is_none(), "method");
        assert!(
            t.find("GET", "/v1/inference/current/").is_none(),
            "trailing slash"
        );
        assert!(
            t.find("GET", "/v1/inference/epochs/").is_none(),
            "empty variable"
        );
        assert!(
            t.find("GET", "/v1/inference/epochs/1/2").is_none(),
            "extra segment"
        );
        assert!(t.find("GET", "/files").is_none(), "greedy needs a segment");
        assert!(t.find("GET", "/files/").is_none(), "greedy needs a segment");
        assert!(t.find("GET", "/").is_none());
    }

    #[test]
    fn decodes_paths() {
        assert_eq!(percent_decode("a%20b+c"), "a b+c");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    }

    #[test]
    fn default_route_is_the_fallback() {
        let mut routes = table().0;
        routes.push(route("fallback", "ANY", "$default"));
        let t = RouteTable::new(&routes);
        let m = t.find("PUT", "/anything").unwrap();
        assert_eq!(
            (m.route.function.as_str(), m.route_key.as_str()),
            ("fallback", "$default")
        );
        assert_eq!(
            t.find("GET", "/v1/inference/current")
                .unwrap()
                .route
                .function,
            "epoch-stats"
        );
    }
}
