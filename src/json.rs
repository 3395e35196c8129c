//! libwebsockets' `lws_json_simple_find`: a value by key, without parsing.

/// Finds `pattern` in `text`; returns the start and length of the value
/// after it (see `ws_json_simple_find`).
pub fn simple_find(text: &[u8], pattern: &[u8]) -> Option<(usize, usize)> {
    if pattern.is_empty() || pattern.len() > text.len() {
        return None;
    }
    let at = text.windows(pattern.len()).position(|w| w == pattern)?;
    let mut p = at + pattern.len();
    while p < text.len() && (text[p] == b' ' || text[p] == b'\t') {
        p += 1;
    }
    if p >= text.len() {
        return None;
    }
    let quoted = text[p] == b'"';
    if quoted {
        p += 1;
    }
    let start = p;
    while p < text.len() {
        let c = text[p];
        if (quoted && c == b'"') || (!quoted && matches!(c, b'}' | b']' | b',')) {
            break;
        }
        if quoted && c == b'\\' {
            p += 1;
        }
        p += 1;
    }
    Some((start, p.min(text.len()) - start))
}

#[cfg(test)]
mod tests {
    use super::simple_find;

    fn find<'a>(t: &'a str, k: &str) -> Option<&'a str> {
        simple_find(t.as_bytes(), k.as_bytes()).map(|(s, n)| &t[s..s + n])
    }

    #[test]
    fn values_quoted_and_bare() {
        let j = r#"{"e":"depthUpdate","E": 123,"s":"A\"B","x":[1,2]}"#;
        assert_eq!(find(j, "\"e\":"), Some("depthUpdate"));
        assert_eq!(find(j, "\"E\":"), Some("123"));
        assert_eq!(find(j, "\"s\":"), Some("A\\\"B"));
        assert_eq!(find(j, "\"x\":"), Some("[1"));
        assert_eq!(find(j, "\"nope\":"), None);
        assert_eq!(find("\"k\":", "\"k\":"), None);
        assert_eq!(
            find("\"k\":\"unterminated\\", "\"k\":"),
            Some("unterminated\\")
        );
    }
}
