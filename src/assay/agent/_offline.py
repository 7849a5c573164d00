"""The rule-based planner: a plain-English request to the standard tool plan, without an LLM.

Each rule claims the words it understood (they are blanked out of a working copy), so what
is left at the end is exactly what the planner could not place, and the user is told that
rather than a guess. The rules are regular expressions over a small vocabulary; the target
is resolved against the data's columns when the caller knows them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assay.agent._phrases import (
    _AFTER,
    _AUX,
    _BEFORE,
    _CUES,
    _DURATION,
    _GONE,
    _I,
    _INTENTS,
    _LEAD,
    _METRIC,
    _MODEL,
    _MODEL_ALIAS,
    _MODEL_GLUE,
    _PATH,
    _STOP,
    _TARGET_FORWARD,
    _TASK,
    _TIME_AFTER,
    _TOKEN,
    _TRAIL,
    _UNIT_S,
    _VERB_NOTES,
    _WORDS,
    DEFAULT_TIME_S,
    DEFAULT_TOP,
    FILLER,
    MODEL_NAMES,
    NUMBER_WORDS,
    OPTIONAL_MODELS,
    REGRESSION_METRICS,
)
from assay.agent._plan import Plan, PlannedCall, Tool


@dataclass
class _Candidate:
    """A phrase that may name the target; `span` (cue and words) is claimed if it is chosen."""

    words: list[tuple[str, int, int]]
    span: tuple[int, int]
    strong: bool = True  # a strong cue ("predict X") may set or change the target
    explain: bool = False
    quoted: str | None = None
    verb: str = ""


@dataclass
class _Found:
    """What the rules took from the request, before it is checked against the state."""

    train: str | None = None
    score: str | None = None
    score_verb: str = ""
    out: str | None = None
    report_path: str | None = None
    time_s: float | None = None
    metric: str | None = None
    models: list[str] | None = None
    task: str | None = None
    top: int | None = None
    code: str | None = None
    intents: set[str] = field(default_factory=set)
    candidates: list[_Candidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)


class _Request:
    """The request with the parts understood so far blanked out (positions never move)."""

    def __init__(self, text: str):
        self.raw = self.view = text

    def take(self, start: int, end: int) -> None:
        self.view = self.view[:start] + _GONE * (end - start) + self.view[end:]

    def cue(self, pos: int, pattern: str) -> re.Match | None:
        return re.search(f"(?:{pattern})$", self.view[:pos], _I)

    def claim(self, pattern: str) -> list[re.Match]:
        hits = list(re.finditer(pattern, self.view, _I))
        for m in hits:
            self.take(*m.span())
        return hits


def plan_request(
    text: str,
    *,
    data: str | None = None,
    columns: list[str] | None = None,
    state: dict | None = None,
) -> Plan:
    """Plan the tool calls for `text`. `data`: a file already given; `columns`: its column
    names when known (to resolve the target); `state`: what the session knows already
    (data, target, metric, task, fitted), so a follow-up plans only what is missing."""
    state, columns = dict(state or {}), [str(c) for c in columns or []]
    req, found = _Request(text), _Found()
    # everything after "write code" is the code's task, not the planner's
    if code := re.search(_CUES["code"], req.view, _I):
        found.code = text[code.start() :].strip()
        req.take(code.start(), len(text))
    _paths(req, found)
    _time(req, found)
    for intent in ("compare", "leaderboard", "stats"):
        for m in req.claim(_INTENTS[intent]):
            found.intents.add(intent)
            if m.groupdict().get("feature") and m["feature"].lower() not in _STOP:
                found.notes.append(f"stats: you asked about {m['feature']}")
            if m.groupdict().get("target"):  # "is age significant for churn"
                words = [(m["target"], m.start("target"), m.end("target"))]
                found.candidates.append(_Candidate(words, m.span("target"), strong=False))
    _metric(req, found)
    _models(req, found)
    _task(req, found)
    _target_candidates(req, found)
    target, typed, question = _choose_target(req, found, columns, state)
    for intent in ("explain", "report", "describe", "fit", "predict"):
        for m in req.claim(_INTENTS[intent]):
            found.intents.add(intent)
            if top := m.groupdict().get("top"):
                found.top = int(top) if top.isdigit() else int(NUMBER_WORDS[_words(top)])
    plan = _assemble(found, target, typed, question, data, columns, state)
    plan.not_understood = _leftover(req)
    return plan


def _words(text: str) -> str:
    return re.sub(r"[\s-]+", " ", text.lower()).strip()


def _paths(req: _Request, found: _Found) -> None:
    """Data files get a role from the words before them: the output, the file to score, or
    the data to learn from; an unmarked first file is the data to learn from."""
    for m in list(_PATH.finditer(req.view)):
        path, start, role = m["q"] or m["b"] or m["p"], m.start(), None
        cues: tuple[tuple[str, str], ...] = (
            ("out", _CUES["out"]),
            ("score", _CUES["score"]),
            ("train", _CUES["train"]),
        )
        if re.search(r"\.html?$", path, _I):
            role, cues = "report_path", (("report_path", r"\b(?:to|into|as|at|in)\s*"),)
            found.intents.add("report")
        for name, pattern in cues:
            if (cue := req.cue(start, pattern)) and getattr(found, name) is None:
                role, start = name, cue.start()
                if name == "score":
                    found.score_verb = (cue["verb"] or "").lower()
                break
        if role is None and (to := req.cue(start, r"\b(?:to|as)\s*")) and found.score:
            role, start = "out", to.start()  # "score test.csv ... to out.csv"
        role = role or ("train" if found.train is None else None)
        if role and getattr(found, role) is None:  # else one file too many: not understood
            setattr(found, role, path)
            req.take(start, m.end())


def _time(req: _Request, found: _Found) -> None:
    spans: list[list] = []  # [start, end, seconds]
    for m in _DURATION.finditer(req.view):
        num, unit = _words(m["num"]), m["unit"].lower()
        word = not num[0].isdigit()
        if (word and (not m["sep"] or unit in "hms")) or (num in ("a", "an") and unit[0] == "s"):
            continue  # "ten m", "a second model": too unlike a duration
        value = (NUMBER_WORDS[num] if word else float(num)) + 0.5 * bool(m["half"] or m["half2"])
        seconds = value * _UNIT_S.get(unit.rstrip("s"), 1)
        if spans and re.fullmatch(r"[\s,]*(?:and\s*)?", req.view[spans[-1][1] : m.start()]):
            spans[-1][1:] = [m.end(), spans[-1][2] + seconds]  # "1 hour 30 minutes"
        else:
            spans.append([m.start(), m.end(), seconds])
    for start, end, _ in spans:
        before, after = req.cue(start, _CUES["time"]), re.match(_TIME_AFTER, req.view[end:], _I)
        req.take(before.start() if before else start, end + (after.end() if after else 0))
    spans = [s for s in sorted(spans) if s[2] > 0]
    found.time_s = float(spans[0][2]) if spans else None
    if len(spans) > 1:
        found.notes.append(f"time budget: several given, using the first ({_secs(spans[0][2])})")


def _secs(seconds: float) -> str:
    return f"{int(seconds)} s" if float(seconds).is_integer() else f"{seconds:g} s"


def _metric(req: _Request, found: _Found) -> None:
    hits: list[tuple[str, int, int, bool]] = []  # (metric, start, end, said with a verb)
    for m in _METRIC.finditer(req.view):
        assert m.lastgroup is not None  # every alternative of _METRIC is a named group
        verb = req.cue(m.start(), _CUES["metric"])
        optimising = r"\s*(?:optimi|maximi|minimi|improve|tune|metric)"
        strong = bool(verb and re.match(optimising, verb[0], _I))
        if hits and re.fullmatch(r"[\s,]*(?:and|or)?\s*", req.view[hits[-1][2] : m.start()]):
            strong = hits[-1][3]  # "optimise auc and f1": both under the verb
        hits.append((m.lastgroup, verb.start() if verb else m.start(), m.end(), strong))
        req.take(hits[-1][1], m.end())
    names = {"rmse" if h[0] == "mse" else h[0] for h in hits}
    chosen = [h for h in hits if h[3]] or hits
    if len(names) > 1 and len({h[0] for h in chosen}) > 1:
        found.questions.append(f"Which metric should be optimised: {' or '.join(sorted(names))}?")
    elif chosen:
        found.metric = "rmse" if chosen[0][0] == "mse" else chosen[0][0]
        if chosen[0][0] == "mse":
            found.notes.append("metric: rmse stands in for MSE (it ranks models the same way)")


def _models(req: _Request, found: _Found) -> None:
    """Named families are kept ("only lightgbm and xgboost"); excluded ones ("without knn or
    mlp") leave the rest, without the optional families, which may not be installed."""
    included: list[str] = []
    excluded: list[str] = []
    prev_end: int | None = None
    prev_excluded = False
    for m in _MODEL.finditer(req.view):
        assert m.lastgroup is not None  # every alternative of _MODEL is a named group
        if prev_end is not None and re.match(_MODEL_GLUE, req.view[prev_end : m.start()], _I):
            is_excluded, start = prev_excluded, prev_end  # the same list: "no knn or mlp"
        else:
            cue = req.cue(m.start(), _CUES["exclude"])
            is_excluded = cue is not None
            cue = cue or req.cue(m.start(), _CUES["include"])
            start = cue.start() if cue else m.start()
        (excluded if is_excluded else included).extend(_MODEL_ALIAS.get(m.lastgroup, [m.lastgroup]))
        if m.lastgroup == "linear_regression" and not is_excluded:
            found.task = "regression"
        req.take(start, m.end())
        prev_end, prev_excluded = m.end(), is_excluded
    if included:
        found.models = [n for n in dict.fromkeys(included) if n not in excluded]
    elif excluded:
        found.models = [n for n in MODEL_NAMES if n not in excluded + list(OPTIONAL_MODELS)]
        found.notes.append(f"models: all but {', '.join(dict.fromkeys(excluded))}")
    if found.models == []:
        found.models = None
        found.questions.append(f"No model family is left: which of {', '.join(MODEL_NAMES)}?")


def _task(req: _Request, found: _Found) -> None:
    said = {m.lastgroup for m in req.claim(_TASK.pattern)}
    said |= {found.task} if found.task else set()
    classification = "classification" in said
    said.discard("classification")
    if len(said) > 1 or ("regression" in said and classification):
        found.task = None
        found.questions.append("Is this regression, binary or multiclass classification?")
    elif said:
        found.task = said.pop()
    elif classification:
        found.notes.append("task: classification (binary or multiclass is read from the data)")


def _target_candidates(req: _Request, found: _Found) -> None:
    """Phrases that may name the target: after "predict", "what drives", "target is", or
    before "as the target". None is claimed until one is chosen."""
    for pattern, strong, explain in _TARGET_FORWARD:
        for m in re.finditer(pattern, req.view, _I):
            words, quoted, end = _phrase(_AFTER.match(req.view, m.end()), forward=True)
            if words:
                verb, span = m[0].strip().lower(), (m.start(), end)
                found.candidates.append(_Candidate(words, span, strong, explain, quoted, verb))
    for m in re.finditer(_CUES["target"], req.view, _I):
        words, quoted, start = _phrase(_BEFORE.search(req.view, 0, m.start()), forward=False)
        if words:
            found.candidates.append(_Candidate(words, (start, m.end()), quoted=quoted))
    found.candidates.sort(key=lambda c: c.span[0])


def _phrase(m: re.Match | None, forward: bool) -> tuple[list, str | None, int]:
    """The words of a phrase up to a stop word (after a cue) or from one (before a cue),
    without articles and "column"; and where the phrase ends (starts, before a cue)."""
    if m is None:
        return [], None, 0
    if m[2]:  # quoted: taken as it is
        return [(m[2], *m.span(2))], m[2], m.end() if forward else m.start()
    at = m.start("w")
    words = [(w[0], at + w.start(), at + w.end()) for w in _WORDS.finditer(m["w"])]
    stops = [i for i, w in enumerate(words) if w[0].lower() in _STOP]
    words = (words[: stops[0]] if forward else words[stops[-1] + 1 :]) if stops else words
    edge = (words[-1][2] if forward else words[0][1]) if words else 0
    while words and words[0][0].lower() in _LEAD:
        words.pop(0)
    while words and words[-1][0].lower() in _TRAIL:
        words.pop()
    return words, None, edge


def _stems(name: str) -> set[str]:
    """ "Churned" -> {churn}; "SalePrice" -> {sale, pric}; "price_usd" -> {pric, usd}."""
    stems = set()
    for word in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name) or [name]:
        word = re.sub(r"(?<=\w{3})(?:ing|ed|(?<!s)s)$", "", word.lower())  # churned -> churn
        stems.add(word[:-1] if word.endswith("e") and len(word) > 3 else word)
    return stems


def _tier(said: str, column: str) -> int | None:
    """How well `said` names `column`: 1 exact ... 4 same stems; 5-6 partly; None not at all."""
    a, b = re.sub(r"[\W_]+", "", said.lower()), re.sub(r"[\W_]+", "", column.lower())
    s, c = _stems(said), _stems(column)
    hits: tuple[bool, ...] = (
        said == column,
        said.lower() == column.lower(),
        a == b,
        s == c,
        s <= c or c <= s,
    )
    hits += ((len(a) >= 4 and a in b) or (len(b) >= 4 and b in a),)
    return next((tier for tier, hit in enumerate(hits, start=1) if hit), None)


def _resolve(words: list[str], columns: list[str]) -> list[str]:
    """The columns `words` name best: a full match of the longest phrase first, and partial
    matches (of any phrase) only when nothing matches fully. Several: it is ambiguous."""
    words = [w for w in words if w.lower() not in _AUX] or words
    n = len(words)
    phrases = [" ".join(words[i : i + k]) for k in range(n, 0, -1) for i in range(n - k + 1)]
    scored = [(t, p.count(" "), c) for p in phrases for c in columns if (t := _tier(p, c))]
    pool = [(-size, t, c) for t, size, c in scored if t <= 4] or [(t, 0, c) for t, _, c in scored]
    best = min(pool, default=None)
    return list(dict.fromkeys(c for *key, c in pool if tuple(key) == best[:2])) if best else []


def _choose_target(req: _Request, found: _Found, columns: list[str], state: dict):
    """(target, as the user wrote it, question). Weak cues ("explain X", "why") count only
    when X is a column and no target is set yet; a strong one may change the target."""
    chosen, failed = None, None
    for c in found.candidates:
        if not c.strong and (state.get("target") or not columns):
            continue
        if c.quoted and (not columns or c.quoted in columns):
            options = [c.quoted]
        elif columns:
            options = _resolve([w for w, _, _ in c.words], columns)
        else:  # unchecked: "customers will churn" -> "churn"
            cut = [i for i, w in enumerate(c.words) if w[0].lower() in ("will", "would")]
            kept = c.words[cut[-1] + 1 :] if cut else c.words
            kept = [w for w in kept if w[0].lower() not in _AUX] or c.words
            options = [req.raw[kept[0][1] : kept[-1][2]]]
        if c.strong or (options and len(options) == 1):
            req.take(*c.span)
        if not options or (not c.strong and len(options) > 1):
            failed = failed or (c if c.strong else None)
            continue
        found.intents |= {"explain"} if c.explain else set()
        found.notes += [note for verb, note in _VERB_NOTES.items() if c.verb.startswith(verb)]
        typed = req.raw[c.words[0][1] : c.words[-1][2]]
        if chosen is None:
            chosen = (options, typed)
        elif set(options) != set(chosen[0]):
            names = " or ".join(dict.fromkeys([*chosen[0], *options]))
            return None, typed, f"Which column should be predicted: {names}?"
    if chosen is None and failed is None and columns and not state.get("target"):
        hits = {c: re.search(rf"(?<!\w){re.escape(c)}(?!\w)", req.view, _I) for c in columns}
        named = [(c, m) for c, m in hits.items() if m and c.lower() not in FILLER]
        if len(named) == 1:  # a bare column name: "SalePrice, rmse, 5 minutes"
            req.take(*named[0][1].span())
            chosen = ([named[0][0]], named[0][1][0])
    listing = ", ".join(columns[:15]) + (", ..." if len(columns) > 15 else "")
    which = "Which column should be predicted? " + (
        f"The data has: {listing}" if columns else "Say e.g. 'predict <column>'."
    )
    if chosen and len(chosen[0]) == 1:
        return chosen[0][0], chosen[1], None
    if chosen:
        listed = " or ".join(chosen[0])
        return None, chosen[1], f"Which column did you mean by '{chosen[1]}': {listed}?"
    if failed:
        typed = req.raw[failed.words[0][1] : failed.words[-1][2]]
        return None, typed, f"'{typed}' is not a column. {which}"
    return None, None, which


def _assemble(found: _Found, target, typed, question, data, columns, state) -> Plan:
    """The standard order, keeping only what the request needs given what `state` has.
    `question` is asked only when a target is needed and none is known."""
    ask, intents, metric, task = list(found.questions), found.intents, found.metric, found.task
    fitted, state_data = bool(state.get("fitted")), state.get("data")
    train, score = found.train or data or state_data, found.score
    if score and not (train or fitted):
        if found.score_verb.startswith("predict"):  # "predict customers.csv": learn from it
            train, score = score, None
        else:
            ask.append(f"Which data should the model learn from before scoring {score}?")
    new_data = train is not None and train != state_data
    fitted = fitted and not new_data
    kept = state.get("target") if target is None and typed is None else None
    target = kept if kept and (not columns or kept in columns) else target
    if metric and task and (metric in REGRESSION_METRICS) != (task == "regression"):
        ask.append(f"{metric} does not fit a {task} task: which metric or task do you mean?")
    said_new = any(v and v != state.get(k) for k, v in (("metric", metric), ("task", task)))
    changed = target is not None and (new_data or target != state.get("target") or said_new)
    wants_model = bool(intents & {"explain", "compare", "leaderboard", "report"} or score)
    explicit = bool(found.time_s or found.models or metric or task or "fit" in intents)
    fit = target is not None and train is not None and not ask  # nothing left to clear up
    fit = fit and (changed or explicit or (not fitted and (wants_model or typed is not None)))
    if typed and fitted and not (fit or intents or ask):
        intents.add("leaderboard")  # "predict churn" again: show what was fitted
    ready = (fit or fitted) and train is not None
    if train is None and not score and (intents or typed or explicit):
        ask.append("Which data file? Give a CSV, TSV, Parquet or ARFF path, or builtin:NAME.")
    unready = (wants_model or "predict" in intents) and not ready
    if target is None and train is not None:
        ask += [question] if typed or new_data or explicit or "stats" in intents or unready else []
    time_s, top = found.time_s or DEFAULT_TIME_S, found.top or DEFAULT_TOP
    note = " (kept from before)" if target == kept else ""
    note = note or (f" (you wrote '{typed}')" if typed and typed != target else "")
    note += "" if columns or target == kept else " (not checked: the columns are not known)"
    budget = f"time budget: {_secs(time_s)}" + ("" if found.time_s else " (default)")
    steps = [  # (wanted, tool, why, args, what the user is told)
        (train and (new_data or "describe" in intents), Tool.DESCRIBE_DATA,
         "Load and profile the data.", {"path": train}, f"data: {train}"),
        (changed and fit, Tool.SET_TARGET, f"Predict {target}.",
         {"target": target, "metric": metric, "task": task}, f"target: {target}{note}"),
        (fit, Tool.FIT, f"Train for {_secs(time_s)}.",
         {"time_limit_s": time_s, "models": found.models}, budget),
        (fit or ("leaderboard" in intents and ready), Tool.LEADERBOARD,
         "Show how the models scored.", {}, None),
        ("explain" in intents and ready, Tool.EXPLAIN, "Show which columns drive the predictions.",
         {"top": top}, f"explain: top {top} columns"),
        ("stats" in intents and train and target, Tool.STATS,
         "Test the target against the columns with a GLM.", {}, f"stats: a GLM of {target}"),
        ("compare" in intents and ready, Tool.COMPARE, "Is the best model better than the next?",
         {}, "compare: the best model against the runner-up"),
        ("report" in intents and ready, Tool.REPORT, "Write an HTML report.",
         {"path": found.report_path}, f"report: {found.report_path or 'in the session folder'}"),
        (score and ready, Tool.PREDICT, f"Score {score}.", {"path": score, "out": found.out},
         f"predict: {score}" + (f" -> {found.out}" if found.out else "")),
        (found.code, Tool.RUN_CODE, "Run custom code for a step no tool covers.",
         {"task": found.code}, f"run code: {found.code}"),
    ]  # fmt: skip
    calls = [PlannedCall(tool.value, args, why) for ok, tool, why, args, _ in steps if ok]
    said = [told for ok, *_, told in steps if ok and told]
    said += [f"{k}: {v}" for k, v in (("metric", metric), ("task", task)) if v]
    said += [f"models: {', '.join(found.models)}"] if found.models and fit else []
    if (found.out or "predict" in intents) and not (score or typed or new_data) and ready:
        ask.append(
            f"Which file should I score? E.g. 'predict new.csv into {found.out or 'p.csv'}'."
        )
    if not calls and not ask:
        ask.append("What should I do? For example: 'predict <column> in data.csv, 5 minutes'.")
    return Plan(calls, said + found.notes, [], list(dict.fromkeys(ask)))


def _leftover(req: _Request) -> list[str]:
    """What no rule claimed, verbatim, split at punctuation, without the filler words."""
    parts = []
    for segment in re.finditer(r"(?:[^\x00,;!?()\[\].]|\.(?=\w))+", req.view):
        tokens = _TOKEN.finditer(req.view, *segment.span())
        words = [w for w in tokens if w[0].lower().replace("’", "'") not in FILLER]
        if words:
            parts.append(req.raw[words[0].start() : words[-1].end()])
    return parts
