//! Cancellation intent: clauses, negation, what a cancel verb applies to, competitors.

use super::*;

/// One word: as written (for the UI) and case-folded (for matching).
#[derive(Debug)]
pub(super) struct Word {
    orig: String,
    norm: String,
}

fn is_clause_break(c: char) -> bool {
    matches!(
        c,
        '.' | ','
            | ';'
            | ':'
            | '!'
            | '?'
            | '\n'
            | '\r'
            | '('
            | ')'
            | '['
            | ']'
            | '"'
            | '\u{201C}'
            | '\u{201D}'
            | '\u{2026}'
            | '\u{2013}'
            | '\u{2014}'
            | '\u{2022}'
    )
}

/// Words in clauses: letters, digits and apostrophes make words; punctuation ends a
/// clause; anything else (spaces, hyphens, slashes) only separates words.
pub(super) fn clauses(text: &str) -> Vec<Vec<Word>> {
    fn flush(word: &mut String, clause: &mut Vec<Word>) {
        let w = word.trim_matches('\'');
        if !w.is_empty() {
            clause.push(Word {
                orig: w.to_string(),
                norm: w.to_lowercase(),
            });
        }
        word.clear();
    }
    let mut out = Vec::new();
    let mut clause = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        let c = match c {
            '\u{2019}' | '\u{2018}' | '`' => '\'',
            c => c,
        };
        if c.is_alphanumeric() || c == '\'' {
            word.push(c);
            continue;
        }
        flush(&mut word, &mut clause);
        if is_clause_break(c) && !clause.is_empty() {
            out.push(std::mem::take(&mut clause));
        }
    }
    flush(&mut word, &mut clause);
    if !clause.is_empty() {
        out.push(clause);
    }
    out
}

pub(super) fn has(list: &[&str], w: &str) -> bool {
    list.contains(&w)
}

/// The index of a negation within `window` words before `idx`, if one reaches it.
fn negation_before(c: &[Word], idx: usize, window: usize) -> Option<usize> {
    for j in (idx.saturating_sub(window)..idx).rev() {
        let w = c[j].norm.as_str();
        if has(NEGATION_RESETS, w) {
            return None;
        }
        if !has(NEGATORS, w) {
            continue;
        }
        let after_can = w == "not" && j > 0 && matches!(c[j - 1].norm.as_str(), "can" | "could");
        let knowing = c
            .get(j + 1)
            .is_some_and(|n| has(NOT_NEGATING_NEXT, &n.norm));
        if !after_can && !knowing {
            return Some(j);
        }
    }
    None
}

pub(super) enum Object {
    /// An account noun, at this index.
    Account(usize),
    Everyday,
    Unknown,
    None,
}

/// The object of the verb at `idx`: the first account or everyday noun among the next
/// three content words.
fn object_after(c: &[Word], idx: usize) -> Object {
    let mut content = 0;
    for (j, w) in c.iter().enumerate().skip(idx + 1) {
        let w = w.norm.as_str();
        if has(FILLER, w) {
            continue;
        }
        if has(ACCOUNT_NOUNS, w) {
            return Object::Account(j);
        }
        if has(EVERYDAY_OBJECTS, w) {
            return Object::Everyday;
        }
        content += 1;
        if content == 3 {
            break;
        }
    }
    if content == 0 {
        Object::None
    } else {
        Object::Unknown
    }
}

/// Whether an everyday noun comes just before `idx`: "the call was cancelled", "meeting
/// cancellation".
fn everyday_before(c: &[Word], idx: usize) -> bool {
    let mut content = 0;
    for w in c[..idx].iter().rev() {
        let w = w.norm.as_str();
        if has(FILLER, w) || has(AUXILIARIES, w) {
            continue;
        }
        if has(EVERYDAY_OBJECTS, w) {
            return true;
        }
        if has(ACCOUNT_NOUNS, w) {
            return false;
        }
        content += 1;
        if content == 2 {
            return false;
        }
    }
    false
}

/// A vendor's name: capitalised with lowercase after (Gainsight, HubSpot), not a month,
/// day, plan name or the like. All-caps words (SSO, EU, CSV) are not names here.
fn is_vendor_name(w: &Word) -> bool {
    let mut chars = w.orig.chars();
    chars.next().is_some_and(char::is_uppercase)
        && chars.any(char::is_lowercase)
        && !has(NOT_VENDORS, &w.norm)
}

/// Whether most words are capitalised, as in a Title Case Subject, where capitals say
/// nothing about names.
pub(super) fn title_case(c: &[Word]) -> bool {
    let capitalised = c
        .iter()
        .filter(|w| w.orig.chars().next().is_some_and(char::is_uppercase))
        .count();
    c.len() >= 3 && capitalised * 5 >= c.len() * 4
}

/// Where a competitor is named from `k` on ("Gainsight", "a competitor", "another tool"),
/// the index of its last word.
fn competitor_at(c: &[Word], k: usize) -> Option<usize> {
    let first = c.get(k)?;
    if has(COMPETITOR_WORDS, &first.norm) {
        return Some(k);
    }
    if is_vendor_name(first) && !title_case(c) {
        return Some(k);
    }
    let mut qualified = first.norm == "another" || has(VENDOR_ADJECTIVES, &first.norm);
    if !matches!(first.norm.as_str(), "a" | "an" | "another" | "some" | "one") && !qualified {
        return None;
    }
    for (j, w) in c.iter().enumerate().skip(k + 1).take(2) {
        let w = w.norm.as_str();
        if has(COMPETITOR_WORDS, w) {
            return Some(j);
        }
        if has(VENDOR_NOUNS, w) && w != "options" {
            return qualified.then_some(j);
        }
        qualified |= has(VENDOR_ADJECTIVES, w);
    }
    None
}

pub(super) fn phrase(c: &[Word], start: usize, end: usize) -> String {
    c[start..=end]
        .iter()
        .map(|w| w.orig.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every cancellation-intent phrase in one clause (see [`analyze`]).
pub(super) fn intent_in_clause(c: &[Word]) -> Vec<String> {
    let mut found = Vec::new();
    for i in 0..c.len() {
        if let Some((start, end)) = intent_at(c, i) {
            found.push(phrase(c, start, end));
        }
    }
    found
}

/// A match starting from the word at `i`: its first and last word.
fn intent_at(c: &[Word], i: usize) -> Option<(usize, usize)> {
    let w = c[i].norm.as_str();
    let next = |n: usize| c.get(i + n).map(|w| w.norm.as_str());
    let prev = |n: usize| i.checked_sub(n).map(|j| c[j].norm.as_str());
    let not_negated =
        |span: (usize, usize)| negation_before(c, span.0, 4).is_none().then_some(span);

    if has(CANCEL_VERBS, w) || has(TERMINATE_VERBS, w) {
        let clicked = [prev(1), prev(2)]
            .into_iter()
            .flatten()
            .any(|p| has(CLICKS, p));
        if clicked || (has(PARTICIPLES, w) && everyday_before(c, i)) {
            return None;
        }
        let end = match object_after(c, i) {
            Object::Account(j) => j,
            Object::Everyday => return None,
            Object::None => i,
            Object::Unknown if has(TERMINATE_VERBS, w) => return None,
            Object::Unknown => i,
        };
        return not_negated((i, end));
    }
    if has(CANCEL_NOUNS, w) {
        if everyday_before(c, i) {
            return None;
        }
        let end = match (next(1), object_after(c, i)) {
            (Some("of"), Object::Account(j)) => j,
            (Some("of"), Object::Everyday) => return None,
            _ => i,
        };
        return not_negated((i, end));
    }
    if has(REFUND_WORDS, w) {
        return not_negated((i, i));
    }
    if w == "money" && next(1) == Some("back") {
        return not_negated((i, i + 1));
    }
    if has(RENEW_WORDS, w) {
        // Intent only when negated: "won't be renewing", "decided against renewing".
        if prev(1) == Some("against") {
            return Some((i - 1, i));
        }
        let unsure = (i.saturating_sub(5)..i).rev().find(|&j| {
            c[j].norm == "unsure"
                || (c[j].norm == "not" && c.get(j + 1).is_some_and(|n| n.norm == "sure"))
        });
        return negation_before(c, i, 5).or(unsure).map(|j| (j, i));
    }
    if w == "too" && matches!(next(1), Some("expensive" | "pricey" | "costly")) {
        return not_negated((i, i + 1));
    }
    if w == "overpriced" {
        return not_negated((i, i));
    }
    if w == "afford" {
        return match (prev(2), prev(1)) {
            (_, Some("can't" | "cannot" | "cant" | "couldn't" | "couldnt")) => Some((i - 1, i)),
            (Some("can" | "could"), Some("not")) => Some((i - 2, i)),
            _ => None,
        };
    }
    if w == "worth"
        && matches!(
            prev(1),
            Some("not" | "isn't" | "isnt" | "wasn't" | "aren't")
        )
    {
        let object = c
            .iter()
            .enumerate()
            .skip(i + 1)
            .find(|(_, w)| !has(FILLER, &w.norm));
        if let Some((j, o)) = object {
            if has(
                &[
                    "money",
                    "price",
                    "cost",
                    "investment",
                    "spend",
                    "fee",
                    "fees",
                ],
                &o.norm,
            ) {
                return Some((i - 1, j));
            }
        }
        return None;
    }
    if has(SWITCH_VERBS, w) {
        let mut k = i + 1;
        if matches!(next(1), Some("over" | "back")) {
            k += 1;
        }
        let at_k = |n: usize| c.get(k + n).map(|w| w.norm.as_str());
        if at_k(0) == Some("away") && at_k(1) == Some("from") {
            return not_negated((i, k + 1));
        }
        if at_k(0) == Some("to") {
            return competitor_at(c, k + 1).and_then(|end| not_negated((i, end)));
        }
        return None;
    }
    if matches!(w, "go" | "going" | "went" | "gone") && next(1) == Some("with") {
        return competitor_at(c, i + 2).and_then(|end| not_negated((i, end)));
    }
    let evaluated = |from: usize| {
        (from.saturating_sub(3)..from)
            .rev()
            .find(|&j| has(EVALUATING, &c[j].norm))
    };
    if has(COMPETITOR_WORDS, w) {
        return evaluated(i).and_then(|v| not_negated((v, i)));
    }
    if has(VENDOR_NOUNS, w) && matches!(prev(1), Some("other" | "different" | "cheaper")) {
        return evaluated(i - 1).and_then(|v| not_negated((v, i)));
    }
    if has(WEAK_VERBS, w) {
        if next(1) == Some("of") || matches!(prev(1), Some("the" | "a" | "an" | "this" | "that")) {
            return None; // "at the end of our contract"
        }
        if matches!(w, "stop" | "stopping") {
            match next(1) {
                Some("paying") => return not_negated((i, i + 1)),
                Some("using") => {
                    let object = c
                        .iter()
                        .enumerate()
                        .skip(i + 2)
                        .find(|(_, w)| !has(FILLER, &w.norm));
                    return match object {
                        Some((j, o))
                            if has(ACCOUNT_NOUNS, &o.norm)
                                || has(&["you", "app", "tool", "system"], &o.norm) =>
                        {
                            not_negated((i, j))
                        }
                        _ => None,
                    };
                }
                _ => {}
            }
        }
        return match object_after(c, i) {
            Object::Account(j) => not_negated((i, j)),
            _ => None,
        };
    }
    if matches!(w, "lapse" | "expire") {
        let start = i.saturating_sub(5);
        let let_at = (start..i).rev().find(|&j| c[j].norm == "let")?;
        let names_account = c[let_at..i].iter().any(|w| has(ACCOUNT_NOUNS, &w.norm));
        return names_account.then_some((let_at, i)).and_then(not_negated);
    }
    None
}
