//! A manifest's questions: their kinds, their canonical encoding, the shape of their encrypted
//! contest, and how a voter's answer maps to the values the contest encrypts.
//!
//! | kind | answer (`Vec<u32>`) | values encrypted | a ballot proves | tally cell |
//! |---|---|---|---|---|
//! | referendum, choose-one, choose-range | the chosen choice indices | 0/1 per choice | each 0/1; `min ≤ Σ ≤ max` | votes per choice |
//! | score | the points of each choice | `0..=max_score` per choice | each in range; `Σ ≤ budget` if given | points per choice |
//! | scale | the step (0-based) of each item | 0/1 per (item, step) | each 0/1; one step per item | voters per (item, step) |
//! | ranked | choice indices, most preferred first | 0/1 per (rank, choice) | each 0/1; ≤ 1 choice per rank, each choice at ≤ 1 rank | ballots per (rank, choice) |
use hanpyo_crypto::ballot::{ContestSpec, MAX_CHOICES, MAX_CIPHERTEXTS};
use serde::Deserialize;

use crate::decision::DecisionRule;
use crate::encoding::{Reader, Writer};
use crate::error::RecordError;
use crate::manifest::Text;
use crate::preferential::RankingMethod;

/// Most points one choice of a score question may get. The proof that a value is in range grows
/// with the range (one branch per value, 128 bytes each), so a 0–20 score costs ≈ 2.8 KB a choice.
pub const MAX_SCORE: u32 = 20;
/// Most steps of a scale.
pub const MAX_STEPS: usize = 11;
/// Largest budget of a score question (its total's proof has one branch per allowed total).
pub const MAX_BUDGET: u32 = 255;

/// The kind of a question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuestionKind {
    /// Yes or no (two choices, choose exactly one).
    Referendum,
    /// Choose exactly one of n.
    ChooseOne,
    /// Choose between `min` and `max` of n.
    ChooseRange {
        /// Fewest selections.
        min: u32,
        /// Most selections.
        max: u32,
    },
    /// Give each choice 0 to `max_score` points; at most `budget` points in all, when given.
    Score {
        /// Most points of one choice.
        max_score: u32,
        /// Most points over all choices.
        budget: Option<u32>,
    },
    /// Rate each choice (an item) on one of the question's labelled steps.
    Scale,
    /// Rank up to `ranks` choices in order of preference; counted by `method` after the
    /// trustees' mix-net (docs/protocol.md §3.6).
    Ranked {
        /// Most choices a voter may rank.
        ranks: u32,
        /// How the decrypted rankings are counted.
        method: RankingMethod,
    },
}

impl QuestionKind {
    /// The manifest's name of this kind.
    pub fn name(&self) -> &'static str {
        match self {
            QuestionKind::Referendum => "referendum",
            QuestionKind::ChooseOne => "choose-one",
            QuestionKind::ChooseRange { .. } => "choose-range",
            QuestionKind::Score { .. } => "score",
            QuestionKind::Scale => "scale",
            QuestionKind::Ranked { .. } => "ranked",
        }
    }

    /// Whether its ballots are mixed and decrypted one by one (not only summed).
    pub fn is_ranked(&self) -> bool {
        matches!(self, QuestionKind::Ranked { .. })
    }
}

/// One question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// Its kind.
    pub kind: QuestionKind,
    /// Its title.
    pub title: Text,
    /// Its choices (a scale's items), in ballot order.
    pub choices: Vec<Text>,
    /// A scale's steps, lowest first (empty for other kinds).
    pub steps: Vec<Text>,
    /// When the result decides it (only for questions with exactly one selection); `None`: the
    /// counts alone are the result.
    pub decision: Option<DecisionRule>,
}

/// A question as an administrator writes it (TOML or JSON).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TomlQuestion {
    kind: String,
    title: Text,
    #[serde(default)]
    choices: Option<Vec<Text>>,
    #[serde(default)]
    min: Option<u32>,
    #[serde(default)]
    max: Option<u32>,
    #[serde(default)]
    max_score: Option<u32>,
    #[serde(default)]
    budget: Option<u32>,
    #[serde(default)]
    steps: Option<Vec<Text>>,
    #[serde(default)]
    ranks: Option<u32>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    decision: Option<TomlDecision>,
}

/// `decision = { min_turnout = "1/4" }`: decided by more than half of the valid votes with at
/// least that fraction of the eligible voters voting.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlDecision {
    min_turnout: String,
}

fn yes_no() -> Vec<Text> {
    vec![
        Text {
            ko: "찬성".into(),
            en: "Yes".into(),
        },
        Text {
            ko: "반대".into(),
            en: "No".into(),
        },
    ]
}

fn invalid(why: impl Into<String>) -> RecordError {
    RecordError::Invalid("question", why.into())
}

impl TomlQuestion {
    /// The question this describes (validated with the manifest).
    pub(crate) fn into_question(self) -> Result<Question, RecordError> {
        let only = |allowed: &[&str], q: &TomlQuestion| -> Result<(), RecordError> {
            let given = [
                ("min", q.min.is_some()),
                ("max", q.max.is_some()),
                ("max_score", q.max_score.is_some()),
                ("budget", q.budget.is_some()),
                ("steps", q.steps.is_some()),
                ("ranks", q.ranks.is_some()),
                ("method", q.method.is_some()),
            ];
            match given.iter().find(|(k, set)| *set && !allowed.contains(k)) {
                Some((k, _)) => Err(invalid(format!("{} has no {k}", q.kind))),
                None => Ok(()),
            }
        };
        let kind = match self.kind.as_str() {
            "referendum" => {
                only(&[], &self)?;
                QuestionKind::Referendum
            }
            "choose-one" => {
                only(&[], &self)?;
                QuestionKind::ChooseOne
            }
            "choose-range" => {
                only(&["min", "max"], &self)?;
                QuestionKind::ChooseRange {
                    min: self.min.unwrap_or(0),
                    max: self.max.ok_or_else(|| invalid("choose-range needs max"))?,
                }
            }
            "score" => {
                only(&["max_score", "budget"], &self)?;
                QuestionKind::Score {
                    max_score: self
                        .max_score
                        .ok_or_else(|| invalid("score needs max_score"))?,
                    budget: self.budget,
                }
            }
            "scale" => {
                only(&["steps"], &self)?;
                QuestionKind::Scale
            }
            "ranked" => {
                only(&["ranks", "method"], &self)?;
                QuestionKind::Ranked {
                    // Ranking every choice unless the manifest says fewer.
                    ranks: self
                        .ranks
                        .unwrap_or(self.choices.as_ref().map_or(0, Vec::len) as u32),
                    method: match self.method.as_deref() {
                        None | Some("instant-runoff") => RankingMethod::InstantRunoff,
                        Some("schulze") => RankingMethod::Schulze,
                        Some(other) => {
                            return Err(invalid(format!(
                                "unknown method {other:?} (instant-runoff, schulze)"
                            )));
                        }
                    },
                }
            }
            other => {
                return Err(invalid(format!(
                    "unknown kind {other:?} (referendum, choose-one, choose-range, score, scale, ranked)"
                )));
            }
        };
        let choices = match kind {
            QuestionKind::Referendum => self.choices.unwrap_or_else(yes_no),
            _ => self.choices.unwrap_or_default(),
        };
        if kind == QuestionKind::Scale && self.steps.is_none() {
            return Err(invalid("scale needs steps"));
        }
        let decision = self
            .decision
            .map(|d| DecisionRule::parse(&d.min_turnout))
            .transpose()?;
        Ok(Question {
            kind,
            title: self.title,
            choices,
            steps: self.steps.unwrap_or_default(),
            decision,
        })
    }
}

impl Question {
    /// The decision rules of a manifest's questions, in order.
    pub fn rules(questions: &[Question]) -> Vec<Option<DecisionRule>> {
        questions.iter().map(|q| q.decision).collect()
    }

    /// For selection kinds, `[min, max]` selections; for a score, the bounds of its total points;
    /// for a scale, one step per item (`[1, 1]`).
    pub fn limits(&self) -> (u32, u32) {
        let n = self.choices.len() as u32;
        match self.kind {
            QuestionKind::Referendum | QuestionKind::ChooseOne | QuestionKind::Scale => (1, 1),
            QuestionKind::ChooseRange { min, max } => (min, max),
            QuestionKind::Score { max_score, budget } => {
                (0, budget.unwrap_or(n.saturating_mul(max_score)))
            }
            QuestionKind::Ranked { ranks, .. } => (0, ranks),
        }
    }

    /// Whether each ballot selects exactly one choice (what a decision rule needs).
    pub fn is_single_choice(&self) -> bool {
        match self.kind {
            QuestionKind::Referendum | QuestionKind::ChooseOne => true,
            QuestionKind::ChooseRange { min, max } => (min, max) == (1, 1),
            QuestionKind::Score { .. } | QuestionKind::Scale | QuestionKind::Ranked { .. } => false,
        }
    }

    /// The most one tally cell can gain from one ballot (a score's `max_score`, else 1).
    pub fn value_max(&self) -> u32 {
        match self.kind {
            QuestionKind::Score { max_score, .. } => max_score,
            _ => 1,
        }
    }

    /// The shape of this question's encrypted contest (question `index`).
    pub fn spec(&self, index: u32) -> ContestSpec {
        let n = self.choices.len() as u32;
        match self.kind {
            QuestionKind::Score { max_score, budget } => ContestSpec {
                index,
                choices: n,
                min: 0,
                max: budget.unwrap_or(0),
                value_max: max_score,
                groups: u32::from(budget.is_some()),
                columns: false,
            },
            QuestionKind::Scale => ContestSpec {
                index,
                choices: n * self.steps.len() as u32,
                min: 1,
                max: 1,
                value_max: 1,
                groups: n,
                columns: false,
            },
            // Rank-major: group `k` holds rank `k + 1`'s one-hot choice, column `c` choice `c`.
            QuestionKind::Ranked { ranks, .. } => ContestSpec {
                index,
                choices: ranks * n,
                min: 0,
                max: 1,
                value_max: 1,
                groups: ranks,
                columns: true,
            },
            _ => {
                let (min, max) = self.limits();
                ContestSpec::selection(index, n, min, max)
            }
        }
    }

    /// The values a voter's answer encrypts (see the module's table); refuses an answer of the
    /// wrong shape. The contest's limits (how many selections, the budget) are checked when it is
    /// encrypted.
    pub fn values_of(&self, answer: &[u32]) -> Result<Vec<u8>, String> {
        let n = self.choices.len();
        match self.kind {
            QuestionKind::Score { max_score, .. } => {
                if answer.len() != n {
                    return Err(format!("{n} scores expected, one per choice"));
                }
                answer
                    .iter()
                    .map(|&v| {
                        u8::try_from(v)
                            .ok()
                            .filter(|_| v <= max_score)
                            .ok_or_else(|| format!("score {v} above {max_score}"))
                    })
                    .collect()
            }
            QuestionKind::Scale => {
                let steps = self.steps.len();
                if answer.len() != n {
                    return Err(format!("{n} steps expected, one per item"));
                }
                let mut values = vec![0u8; n * steps];
                for (item, &step) in answer.iter().enumerate() {
                    if step as usize >= steps {
                        return Err(format!("step {step} of {steps}"));
                    }
                    values[item * steps + step as usize] = 1;
                }
                Ok(values)
            }
            QuestionKind::Ranked { ranks, .. } => {
                if answer.len() > ranks as usize {
                    return Err(format!("at most {ranks} choices ranked"));
                }
                let mut values = vec![0u8; ranks as usize * n];
                for (rank, &c) in answer.iter().enumerate() {
                    if c as usize >= n {
                        return Err(format!("choice {c} of {n}"));
                    }
                    if answer[..rank].contains(&c) {
                        return Err(format!("choice {c} ranked twice"));
                    }
                    values[rank * n + c as usize] = 1;
                }
                Ok(values)
            }
            _ => {
                let mut values = vec![0u8; n];
                for &j in answer {
                    match values.get_mut(j as usize) {
                        Some(v) if *v == 0 => *v = 1,
                        Some(_) => return Err(format!("choice {j} chosen twice")),
                        None => return Err(format!("choice {j} of {n}")),
                    }
                }
                Ok(values)
            }
        }
    }

    /// The answer that `values` encode (the inverse of [`Question::values_of`], for a Benaloh
    /// audit's opening): chosen indices, scores, or each item's step (an item with no step, which
    /// no valid contest has, reads as the number of steps).
    pub fn answer_of(&self, values: &[u8]) -> Vec<u32> {
        match self.kind {
            QuestionKind::Score { .. } => values.iter().map(|&v| u32::from(v)).collect(),
            QuestionKind::Scale => values
                .chunks(self.steps.len().max(1))
                .map(|item| item.iter().position(|&v| v == 1).unwrap_or(item.len()) as u32)
                .collect(),
            QuestionKind::Ranked { .. } => self.ranking_of(values),
            _ => values
                .iter()
                .enumerate()
                .filter(|(_, v)| **v == 1)
                .map(|(j, _)| j as u32)
                .collect(),
        }
    }

    /// The ranking that a ranked question's decrypted values encode: per rank, in order, the
    /// choice marked there (a rank with none is skipped; in a valid contest no rank has two).
    pub fn ranking_of(&self, values: &[u8]) -> Vec<u32> {
        values
            .chunks(self.choices.len().max(1))
            .filter_map(|rank| rank.iter().position(|&v| v == 1).map(|c| c as u32))
            .collect()
    }

    /// Per choice, from this question's tally cells: its votes, a score's points, or a scale
    /// item's ratings summed as step numbers (1 = the lowest step).
    pub fn choice_totals(&self, cells: &[u64]) -> Vec<u64> {
        match self.kind {
            QuestionKind::Scale => cells
                .chunks(self.steps.len().max(1))
                .map(|item| {
                    item.iter()
                        .enumerate()
                        .map(|(s, n)| (s as u64 + 1).saturating_mul(*n))
                        .fold(0u64, u64::saturating_add)
                })
                .collect(),
            _ => cells.to_vec(),
        }
    }

    /// Checks the rules of its kind (question `i` of the manifest).
    pub(crate) fn validate(&self, i: usize) -> Result<(), RecordError> {
        self.title.validate()?;
        for c in self.choices.iter().chain(&self.steps) {
            c.validate()?;
        }
        let n = self.choices.len() as u32;
        let steps = self.steps.len();
        let ok = match self.kind {
            QuestionKind::Referendum => n == 2,
            QuestionKind::ChooseOne => (2..=MAX_CHOICES).contains(&n),
            QuestionKind::ChooseRange { min, max } => {
                (1..=MAX_CHOICES).contains(&n) && min <= max && max >= 1 && max <= n
            }
            QuestionKind::Score { max_score, budget } => {
                (1..=MAX_CHOICES).contains(&n)
                    && (1..=MAX_SCORE).contains(&max_score)
                    && budget.is_none_or(|b| (1..=MAX_BUDGET).contains(&b) && b <= n * max_score)
            }
            QuestionKind::Scale => {
                (1..=MAX_CHOICES).contains(&n)
                    && (2..=MAX_STEPS).contains(&steps)
                    && n * steps as u32 <= MAX_CIPHERTEXTS
            }
            QuestionKind::Ranked { ranks, .. } => {
                (2..=MAX_CHOICES).contains(&n)
                    && (1..=n).contains(&ranks)
                    && ranks * n <= MAX_CIPHERTEXTS
            }
        };
        if !ok {
            return Err(invalid(format!(
                "question {i}: wrong number of choices or limits (referendum: 2; choose-one: 2-64; \
                 choose-range: 0 ≤ min ≤ max ≤ choices, max ≥ 1; score: 1-64 choices, max_score \
                 1-{MAX_SCORE}, budget 1-{MAX_BUDGET} and at most choices × max_score; scale: \
                 1-64 items, 2-{MAX_STEPS} steps, items × steps ≤ {MAX_CIPHERTEXTS}; ranked: \
                 2-64 choices, 1 ≤ ranks ≤ choices, ranks × choices ≤ {MAX_CIPHERTEXTS})"
            )));
        }
        if self.kind != QuestionKind::Scale && !self.steps.is_empty() {
            return Err(invalid(format!("question {i}: only a scale has steps")));
        }
        if let Some(rule) = &self.decision {
            rule.validate()?;
            if !self.is_single_choice() {
                return Err(RecordError::Invalid(
                    "decision",
                    format!(
                        "question {i}: a decision rule needs exactly one choice per ballot (referendum or choose-one)"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `u8 kind ‖ kind parameters ‖ title ‖ u32 n ‖ choices ‖ decision` (record-format.md §3).
    pub(crate) fn encode(&self, w: &mut Writer) {
        match self.kind {
            QuestionKind::Referendum => {
                w.u8(0);
            }
            QuestionKind::ChooseOne => {
                w.u8(1);
            }
            QuestionKind::ChooseRange { min, max } => {
                w.u8(2).u32(min).u32(max);
            }
            QuestionKind::Score { max_score, budget } => {
                w.u8(3).u32(max_score);
                match budget {
                    None => w.u8(0),
                    Some(b) => w.u8(1).u32(b),
                };
            }
            QuestionKind::Scale => {
                w.u8(4).u32(self.steps.len() as u32);
                for s in &self.steps {
                    s.encode(w);
                }
            }
            QuestionKind::Ranked { ranks, method } => {
                w.u8(5).u32(ranks).u8(method.code());
            }
        }
        self.title.encode(w);
        w.u32(self.choices.len() as u32);
        for c in &self.choices {
            c.encode(w);
        }
        match self.decision {
            None => w.u8(0),
            Some(rule) => w.u8(1).u32(rule.num).u32(rule.den),
        };
    }

    /// Strict decoding (validated with the manifest).
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, RecordError> {
        let mut steps = Vec::new();
        let kind = match r.u8()? {
            0 => QuestionKind::Referendum,
            1 => QuestionKind::ChooseOne,
            2 => QuestionKind::ChooseRange {
                min: r.u32()?,
                max: r.u32()?,
            },
            3 => QuestionKind::Score {
                max_score: r.u32()?,
                budget: match r.u8()? {
                    0 => None,
                    1 => Some(r.u32()?),
                    t => return Err(RecordError::Invalid("budget", format!("tag {t}"))),
                },
            },
            4 => {
                let n = r.count(MAX_STEPS, "steps")?;
                for _ in 0..n {
                    steps.push(Text::decode(r)?);
                }
                QuestionKind::Scale
            }
            5 => QuestionKind::Ranked {
                ranks: r.u32()?,
                method: RankingMethod::from_code(r.u8()?)
                    .ok_or_else(|| RecordError::Invalid("ranking method", "unknown".into()))?,
            },
            k => return Err(RecordError::Invalid("question kind", k.to_string())),
        };
        let title = Text::decode(r)?;
        let nc = r.count(MAX_CHOICES as usize, "choices")?;
        let choices = (0..nc).map(|_| Text::decode(r)).collect::<Result<_, _>>()?;
        let decision = match r.u8()? {
            0 => None,
            1 => Some(DecisionRule {
                num: r.u32()?,
                den: r.u32()?,
            }),
            t => return Err(RecordError::Invalid("decision", format!("tag {t}"))),
        };
        Ok(Question {
            kind,
            title,
            choices,
            steps,
            decision,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Text {
        Text {
            ko: s.into(),
            en: s.into(),
        }
    }

    fn question(kind: QuestionKind, choices: usize, steps: usize) -> Question {
        Question {
            kind,
            title: text("q"),
            choices: (0..choices).map(|i| text(&format!("c{i}"))).collect(),
            steps: (0..steps).map(|i| text(&format!("s{i}"))).collect(),
            decision: None,
        }
    }

    #[test]
    fn answers_map_to_values_and_back() {
        let pick = question(QuestionKind::ChooseRange { min: 0, max: 2 }, 4, 0);
        assert_eq!(pick.values_of(&[3, 1]), Ok(vec![0, 1, 0, 1]));
        assert_eq!(pick.answer_of(&[0, 1, 0, 1]), vec![1, 3]);
        assert!(pick.values_of(&[1, 1]).is_err());
        assert!(pick.values_of(&[4]).is_err());
        let score = question(
            QuestionKind::Score {
                max_score: 5,
                budget: Some(7),
            },
            3,
            0,
        );
        assert_eq!(score.values_of(&[5, 0, 2]), Ok(vec![5, 0, 2]));
        assert_eq!(score.answer_of(&[5, 0, 2]), vec![5, 0, 2]);
        assert!(score.values_of(&[6, 0, 0]).is_err());
        assert!(score.values_of(&[1, 1]).is_err());
        assert!(score.values_of(&[256, 0, 0]).is_err());
        let scale = question(QuestionKind::Scale, 2, 3);
        assert_eq!(scale.values_of(&[2, 0]), Ok(vec![0, 0, 1, 1, 0, 0]));
        assert_eq!(scale.answer_of(&[0, 0, 1, 1, 0, 0]), vec![2, 0]);
        assert!(scale.values_of(&[3, 0]).is_err());
        assert!(scale.values_of(&[1]).is_err());
        assert_eq!(scale.spec(4).choices, 6);
        assert_eq!(scale.spec(4).groups, 2);
        let ranked = question(
            QuestionKind::Ranked {
                ranks: 2,
                method: RankingMethod::InstantRunoff,
            },
            3,
            0,
        );
        // Rank-major: rank 1 holds choice 2, rank 2 choice 0.
        assert_eq!(ranked.values_of(&[2, 0]), Ok(vec![0, 0, 1, 1, 0, 0]));
        assert_eq!(ranked.answer_of(&[0, 0, 1, 1, 0, 0]), vec![2, 0]);
        assert_eq!(ranked.values_of(&[]), Ok(vec![0; 6]));
        // An empty rank is skipped when the ranking is read.
        assert_eq!(ranked.ranking_of(&[0, 0, 0, 0, 1, 0]), vec![1]);
        assert!(ranked.values_of(&[1, 1]).is_err(), "a choice ranked twice");
        assert!(
            ranked.values_of(&[0, 1, 2]).is_err(),
            "more choices than ranks"
        );
        assert!(ranked.values_of(&[3]).is_err());
        let spec = ranked.spec(1);
        assert_eq!((spec.choices, spec.groups, spec.columns), (6, 2, true));
        assert_eq!((spec.min, spec.max, spec.value_max), (0, 1, 1));
    }

    #[test]
    fn a_ranked_question_is_written_with_its_ranks_and_method() {
        let parse = |extra: &str| {
            toml::from_str::<TomlQuestion>(&format!(
                "kind = \"ranked\"\ntitle = {{ ko = \"q\", en = \"q\" }}\n\
                 choices = [{{ ko = \"a\", en = \"a\" }}, {{ ko = \"b\", en = \"b\" }}, {{ ko = \"c\", en = \"c\" }}]\n{extra}"
            ))
            .expect("toml")
            .into_question()
        };
        assert_eq!(
            parse("").expect("defaults").kind,
            QuestionKind::Ranked {
                ranks: 3,
                method: RankingMethod::InstantRunoff
            }
        );
        assert_eq!(
            parse("ranks = 2\nmethod = \"schulze\"")
                .expect("given")
                .kind,
            QuestionKind::Ranked {
                ranks: 2,
                method: RankingMethod::Schulze
            }
        );
        assert!(parse("method = \"borda\"").is_err());
        assert!(parse("max_score = 3").is_err());
        // An unknown method code does not decode.
        let mut w = Writer::new();
        parse("").expect("q").encode(&mut w);
        let mut bytes = w.into_bytes();
        bytes[5] = 2;
        assert!(Question::decode(&mut Reader::new(&bytes)).is_err());
    }

    #[test]
    fn each_kind_round_trips_and_bad_parameters_are_refused() {
        for q in [
            question(
                QuestionKind::Score {
                    max_score: 10,
                    budget: None,
                },
                5,
                0,
            ),
            question(
                QuestionKind::Score {
                    max_score: 10,
                    budget: Some(12),
                },
                5,
                0,
            ),
            question(QuestionKind::Scale, 3, 5),
            question(
                QuestionKind::Ranked {
                    ranks: 3,
                    method: RankingMethod::InstantRunoff,
                },
                5,
                0,
            ),
            question(
                QuestionKind::Ranked {
                    ranks: 16,
                    method: RankingMethod::Schulze,
                },
                16,
                0,
            ),
        ] {
            q.validate(0).expect("valid");
            let mut w = Writer::new();
            q.encode(&mut w);
            let bytes = w.into_bytes();
            let mut r = Reader::new(&bytes);
            assert_eq!(Question::decode(&mut r).expect("decodes"), q);
        }
        let bad = [
            question(
                QuestionKind::Score {
                    max_score: 0,
                    budget: None,
                },
                3,
                0,
            ),
            question(
                QuestionKind::Score {
                    max_score: 21,
                    budget: None,
                },
                3,
                0,
            ),
            question(
                QuestionKind::Score {
                    max_score: 5,
                    budget: Some(16),
                },
                3,
                0,
            ),
            question(
                QuestionKind::Score {
                    max_score: 5,
                    budget: Some(0),
                },
                3,
                0,
            ),
            question(QuestionKind::Scale, 3, 1),
            question(QuestionKind::Scale, 3, 12),
            question(QuestionKind::Scale, 30, 10),
            question(QuestionKind::ChooseOne, 3, 2),
            // Ranked: no rank, more ranks than choices, one choice, too many ciphertexts.
            question(
                QuestionKind::Ranked {
                    ranks: 0,
                    method: RankingMethod::InstantRunoff,
                },
                3,
                0,
            ),
            question(
                QuestionKind::Ranked {
                    ranks: 4,
                    method: RankingMethod::InstantRunoff,
                },
                3,
                0,
            ),
            question(
                QuestionKind::Ranked {
                    ranks: 1,
                    method: RankingMethod::InstantRunoff,
                },
                1,
                0,
            ),
            question(
                QuestionKind::Ranked {
                    ranks: 17,
                    method: RankingMethod::Schulze,
                },
                17,
                0,
            ),
        ];
        for q in bad {
            assert!(q.validate(0).is_err(), "{:?}", q.kind);
        }
        let mut ruled = question(QuestionKind::Scale, 3, 5);
        ruled.decision = Some(DecisionRule { num: 1, den: 4 });
        assert!(ruled.validate(0).is_err());
    }
}
