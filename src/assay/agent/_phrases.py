"""The planner's vocabulary: the words and patterns that name a target, a metric, a time
budget, a model family, a task, a file and an intent. Kept apart from the rules in
`_offline.py` so the rules read as logic and the vocabulary can grow on its own."""

from __future__ import annotations

import re

DEFAULT_TIME_S = 60.0
DEFAULT_TOP = 10
# the keys of assay.models.MODELS (a test checks); the networks are there only with the
# `nn` extra
MODEL_NAMES: tuple[str, ...] = ("lightgbm", "xgboost", "catboost", "random_forest")
MODEL_NAMES += ("extra_trees", "linear", "knn", "mlp", "image_cnn", "sound_cnn", "minilm")
OPTIONAL_MODELS = ("mlp", "image_cnn", "sound_cnn", "minilm")
CLASSIFICATION_METRICS = ("auc", "logloss", "accuracy", "f1", "balanced_accuracy")
REGRESSION_METRICS = ("rmse", "mae", "r2")
_I, _GONE = re.IGNORECASE, "\x00"


def _vocab(text: str) -> frozenset[str]:
    return frozenset(text.split())


# -- vocabulary ----------------------------------------------------------------------------
_ONE_TO_14 = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
_ONES = (_ONE_TO_14 + "fifteen sixteen seventeen eighteen nineteen").split(" ")
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
NUMBER_WORDS: dict[str, float] = {w: i + 1 for i, w in enumerate(_ONES)}
for _k, _t in enumerate(_TENS):
    NUMBER_WORDS[_t] = 20 + 10 * _k
    NUMBER_WORDS.update({f"{_t} {o}": 21 + 10 * _k + i for i, o in enumerate(_ONES[:9])})
NUMBER_WORDS.update({"a": 1, "an": 1, "a few": 3, "a couple of": 2, "couple of": 2})
NUMBER_WORDS.update({"half": 0.5, "half a": 0.5, "half an": 0.5, "a half": 0.5})
NUMBER_WORDS.update({"a quarter of an": 0.25})
_NUM = "|".join(re.escape(k).replace(r"\ ", r"[\s-]+") for k in sorted(NUMBER_WORDS, key=len)[::-1])
_UNIT_S = {"h": 3600, "hr": 3600, "hour": 3600, "m": 60, "min": 60, "minute": 60}
_DURATION = re.compile(
    rf"(?:\b|(?<=\d[hm]))(?P<num>\d+(?:\.\d+)?|{_NUM})(?P<half>[\s-]+and[\s-]+a[\s-]+half)?"
    r"(?P<sep>[\s-]*)(?P<unit>hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)(?![a-z])"
    r"(?P<half2>\s+and\s+a\s+half)?",
    _I,
)
_TIME_AFTER = r"(?:\s*(?:of\s+)?(?:budget|time\s+limit|limit|max(?:imum)?|long|training|time))+"

_DATA_EXT = r"(?:csv\.gz|tsv\.gz|csv|tsv|parquet|arff)"
_PATH = re.compile(
    rf"""(["'`])(?P<q>[^"'`\n]+?\.(?:{_DATA_EXT}|html?))\1|(?P<b>\bbuiltin:[\w.\-]+)"""
    rf"|(?<![\w./\\~-])(?P<p>(?:[A-Za-z]:)?[\w./\\~-]*\.(?:{_DATA_EXT}|html?))(?![\w-])",
    _I,
)
_CUES = {  # words just before a thing that say what it is ("target": just after it)
    "time": r"(?:\b(?:in|within|for|under|over|taking|take|spend(?:ing)?|give\s+it|allow(?:ing)?"
    r"|at\s+most|up\s+to|no\s+more\s+than|less\s+than|max(?:imum)?(?:\s+of)?|about|around|roughly"
    r"|approximately|only|just|with|a|an|the|budget(?:\s+(?:of|is))?|time(?:\s+(?:limit"
    r"|budget))?(?:\s+(?:of|is))?|limit(?:\s+(?:of|is))?)\s*[:=]?\s*)+",
    "out": r"(?:\binto|\bsav(?:e|es|ed|ing)(?:\s+\w+){0,2}?\s+(?:to|as|in|into)|\bwrit(?:e|es|ten"
    r"|ing)(?:\s+\w+){0,2}?\s+(?:to|into|as|in)|\boutputs?(?:\s+(?:to|into|as|in))?"
    r"|\bout(?:put)?\s+file|--out|\bexport(?:s|ed)?(?:\s+\w+){0,2}?\s+(?:to|as|in|into)|\bstor(?:e"
    r"|es|ed)(?:\s+\w+){0,2}?\s+(?:in|to|as))\s*[:=]?\s*",
    "score": r"(?:\b(?:(?:save|make|write|get|export)\s+(?:the\s+|some\s+"
    r"|my\s+)?)?(?P<verb>predict(?:ions?|ing)?|scor(?:e|ing)|infer(?:ence)?"
    r"|apply(?:\s+\w+){0,2}?\s+to)(?:\s+(?:on|for|in|from|of|to))?|\b(?:new|unseen|fresh|holdout"
    r"|hold-out|test(?:ing)?))(?:\s+(?:the|new|unseen|fresh|test|rows?|data|dataset|set|file"
    r"|records|examples|cases))*(?:\s+(?:in|from|at|is|on))?\s*[:=]?\s*",
    "train": r"(?:\b(?:re)?(?:train(?:s|ed|ing)?|fit(?:s|ted|ting)?)|\blearn(?:s|ed|ing)?"
    r"|\bbuil[dt]|\bload|\bread|\bopen|\bdescribe|\bprofile|\banaly[sz]e|\bexplore|\bin|\bfrom"
    r"|\busing|\bwith|\bon|\bof|\bat|\buse|\bdata(?:set)?|\bfile)(?:\s+(?:a|an|the|my|our|this|on"
    r"|with|using|from|in|models?|data|dataset|set|file|is))*\s*[:=]?\s*",
    "metric": r"\b(?:optimi[sz](?:e|es|ed|ing)|maximi[sz](?:e|es|ed|ing)|minimi[sz](?:e|es|ed|ing)"
    r"|improve|tune|judged?|rank(?:ed)?|scor(?:e|ed|ing)|evaluat(?:e|ed|ing)|measur(?:e|ed|ing)"
    r"|metric|use|using|with|by|on|for)(?:\s+(?:for|on|by|with|the|using|is|of))*\s*[:=]?\s*",
    "exclude": r"\b(?:no|not|without|except|excluding|exclude|skip(?:ping)?|avoid|drop|minus|never"
    r"|don'?t\s+use|but\s+not|other\s+than)(?:\s+(?:the|any|using|use|with))*\s*",
    "include": r"(?:\b(?:only|just|use|using|with|try|trying|(?:restrict|"
    r"limit)(?:ed)?\s+(?:it\s+)?to|stick\s+to|the)\s+)+",
    "code": r"\b(?:run|write|execute|create)\s+(?:(?:me|us|some|this|the|a|an|following|custom"
    r"|small|python)\s+)*(?:code|script|snippet|program|function)\b",
    "target": r"\s*(?:column\s+)?(?:is|as)\s+(?:the\s+|my\s+|our\s+)?(?:target|label|outcome"
    r"|response|dependent\s+variable)(?:\s+(?:column|variable))?\b",
}
_METRIC = re.compile(
    r"\b(?:(?P<balanced_accuracy>balanced[\s_-]*acc(?:uracy)?)|(?P<auc>(?:roc[\s_-]*)?auc(?:["
    r"\s_-]*roc)?|area\s+under\s+(?:the\s+)?(?:roc\s+)?curve|roc)|(?P<logloss>log[\s_-]*loss"
    r"|logarithmic\s+loss|cross[\s_-]*entropy)|(?P<f1>f[\s_-]?1(?:[\s_-]*score)?|f[\s_-]*(?:score"
    r"|measure))|(?P<accuracy>accuracy)|(?P<rmse>rmse|root[\s_-]*mean[\s_-]*squared?[\s_-]*error)"
    r"|(?P<mse>mse|mean[\s_-]*squared[\s_-]*error)|(?P<mae>mae|mean[\s_-]*absolute[\s_-]*error)"
    r"|(?P<r2>r2|r\^2|r²|r[\s_-]*squared|coefficient\s+of\s+determination))(?:\s+(?:score"
    r"|metric))?(?!\w)",
    _I,
)
_MODEL = re.compile(
    r"\b(?:(?P<lightgbm>light[\s_-]*gbm|lgbm|lgb)|(?P<xgboost>xg[\s_-]*boost|xgb)"
    r"|(?P<catboost>cat[\s_-]*boost)|(?P<random_forest>random[\s_-]*forests?|rf)"
    r"|(?P<extra_trees>extra[\s_-]*trees?|extremely\s+randomi[sz]ed\s+trees)"
    r"|(?P<linear_regression>linear\s+regression)|(?P<logistic>logistic\s+regression)"
    r"|(?P<linear>linear(?:\s+models?)?)|(?P<knn>k[\s_-]*nn|(?:k[\s_-]*)?nearest["
    r"\s_-]*neighbou?rs?)|(?P<mlp>mlp|nn|neural[\s_-]*net(?:work)?s?|deep\s+learning"
    r"|multi[\s_-]*layer\s+perceptron)|(?P<boosters>gradient[\s_-]*boost(?:ing|ed)?(?:\s+trees"
    r"|\s+machines?)?|boost(?:ing|ers|ed\s+trees)|gbms?|gbdt))(?:\s+(?:models?|only))?\b",
    _I,
)
_MODEL_ALIAS = dict(linear_regression=["linear"], logistic=["linear"], boosters=MODEL_NAMES[:3])
_MODEL_GLUE = r"\A[\s,/&" + _GONE + r"]*(?:(?:and|or|nor|plus)\b[\s,]*)?\Z"
_TASK = re.compile(
    r"\b(?:(?P<multiclass>multi[\s_-]*class(?:\s+classification)?|multinomial)"
    r"|(?P<binary>binary(?:\s+classification)?|two[\s-]*class)|(?P<regression>regression)"
    r"|(?P<classification>classification|classifier))(?:\s+(?:problem|task))?\b",
    _I,
)
_RIVAL = r"\s+than\s+(?:the\s+)?(?:runner[\s-]*up|second(?:\s+best)?|next(?:\s+one)?|others?|rest)"
_THAN = rf"(?:{_RIVAL})?"
_INTENTS = {  # compare, leaderboard, stats before the target; the rest once it is chosen
    "compare": r"\b(?:is|was|are)\s+(?:the\s+|it\s+)?(?:(?:best|top|winning|first|winner)\s+)?"
    r"(?:(?:model|one)\s+)?(?:(?:really|significantly|actually|truly|statistically|meaningfully|"
    r"reliably)\s+)*better" + _THAN + r"|\b(?:significantly|statistically|really|truly|"
    r"meaningfully|reliably)\s+(?:better|different|worse)" + _THAN + r"|\bcompar(?:e|es|ing|ison)"
    r"(?:\s+(?:of|between|the|all|top|best|two|2|models?))*|\bbetter" + _RIVAL + r"|\brunner"
    r"[\s-]*up\b",
    "leaderboard": r"\bleader[\s-]*board\b|\b(?:which|what)\s+(?:model|one|algorithm"
    r"|learner)\s+(?:won|wins|(?:is|was|did|performed|performs)\s+(?:the\s+)?best|came\s+first)\b"
    r"|\bwho\s+won\b|\brank(?:ing|ings)?(?:\s+(?:of\s+)?(?:the\s+)?models)?\b"
    r"|\b(?:the\s+)?best\s+models?\b|\b(?:show|see|print|list)\s+(?:me\s+)?(?:the\s+)?(?:model\s+)"
    r"?(?:scores|results)\b|\bhow\s+(?:well\s+)?(?:did|do)\s+(?:the\s+)?models?\s+(?:do|perform"
    r"|score)\b",
    "stats": r"(?:\b(?:fit|run|do|perform|show)\s+(?:me\s+)?(?:an?\s+|the\s+)?)?(?:\b(?:is"
    r"|are)\s+(?:the\s+)?(?P<feature>(?:[\w-]+\s+){0,2}?[\w-]+)\s+(?:statistically\s+)?significant"
    r"(?:\s+(?:for|to|on|in)\s+(?:predicting\s+)?(?:the\s+)?(?P<target>[\w-]+))?"
    r"|\bhypothes[ie]s\s+test(?:s|ing)?\b|\bp[\s-]*values?\b|\bglm\b|\bgenerali[sz]ed\s+linear"
    r"\s+models?\b|\b(?:(?:logistic|linear)\s+)?regression\s+(?:coefficients?|coefs?|summary|table"
    r"|output)\b|\bcoefficients?\b|\bcoefs?\b|\bodds\s+ratios?\b|\bconfidence\s+intervals?\b"
    r"|\bstatistical(?:ly)?\s+(?:tests?|analysis|significan(?:t|ce))\b|\bsignifican(?:ce"
    r"|t)(?:\s+tests?)?\b|\bstat(?:istic)?s(?:\s+tests?)?\b)",
    "explain": r"\bwhat\s+(?:drives|affects|influences|determines|explains|impacts|causes|matters)"
    r"(?:\s+(?:it|them|this|that|the\s+(?:predictions?|model)|most))*\b|\b(?:which|what)\s+(?:"
    r"features?|variables?|columns?|factors?|inputs?)\s+(?:matter|are\s+(?:the\s+)?(?:most\s+)?"
    r"important|drive|influence|affect|explain|contribute|count)(?:\s+(?:it|them|the\s+most|most))*"
    rf"\b|\btop\s+(?P<top>\d+|{_NUM})\s+(?:features?|drivers?|variables?|factors?|columns?)\b|"
    r"\b(?:feature|variable|column)\s+importances?\b|\bimportances?\b|\b(?:most\s+)?important\s+"
    r"(?:features?|variables?|factors?|columns?)\b|\bexplain(?:s|ed|ing)?(?:\s+(?:it|this|that|"
    r"them|the\s+(?:model|predictions?|results?|predictor)))?\b|\bexplanations?\b|\bexplainab(?:le"
    r"|ility)\b|\bshap(?:ley)?(?:\s+values?)?\b|\binterpret(?:s|ation|ability|able)?\b|\bdrivers?"
    r"\b|\bwhy\b",
    "report": r"\b(?:(?:write|make|create|generate|build|produce|save)\s+(?:me\s+)?(?:an?\s+"
    r"|the\s+)?)?(?:(?:html|summary|final|full|short)\s+)?(?:report|write[\s-]*up|dashboard)s?\b"
    r"|\bhtml\b|\bsummary\s+(?:page|document)\b",
    "describe": r"\b(?:describe|profile|profiling|explore|eda|overview)\b(?:\s+(?:the|my"
    r"|this))?(?:\s+(?:data|dataset|file|columns))?|\b(?:look|peek)\s+at\s+(?:the\s+)?data\b"
    r"|\bwhat'?s\s+in\s+(?:the\s+)?(?:data|file)\b|\b(?:show|list)\s+(?:me\s+)?(?:the\s+)?columns"
    r"\b|\bsummari[sz]e\s+(?:the\s+)?(?:data|dataset|file)\b",
    "fit": r"\b(?:re)?(?:train|fit)(?:s|ed|ing|ting)?\b|\bautoml\b|\bagain\b"
    r"|\bbuild(?:ing)?\s+(?:(?:me|us|a|the|an|some|good|new|better)\s+)*(?:models?|predictor"
    r"|classifier|regressor)\b|\b(?:run|start|launch|kick\s+off)\s+(?:the\s+|a\s+)?(?:search"
    r"|automl|training|experiment)\b",
    "predict": r"\b(?:(?:make|get|save|write)\s+(?:the\s+|some\s+)?)?predict(?:ions?)?\b|\bscore\b",
}
_TARGET_FORWARD = [  # (cue, strong, explain): a strong cue may set or change the target
    (r"\btarget(?:\s+(?:column|variable))?\s*(?:is|=|:|should\s+be|will\s+be)?\s*|\by\s*=\s*|"
     r"\b(?:predict(?:s|ing)?|forecast(?:s|ing)?|classify(?:ing)?|model(?:l?ing)?|estimat(?:e|ing)"
     r"|regress(?:ing)?)\s+|\b(?:model|predictor|classifier|regressor)\s+(?:for|of)\s+",
     True, False),
    (r"\bwhat\s+(?:drives|affects|influences|determines|explains|impacts|predicts|causes)\s+|"
     r"\b(?:drivers?|determinants|predictors|causes)\s+of\s+|\b(?:which|what)\s+(?:features?|"
     r"variables?|columns?|factors?)\s+(?:drive|affect|influence|determine|explain|predict|impact"
     r"|matter\s+for)\s+|\bhow\s+(?:do|does|did)\s+(?:[\w-]+\s+){1,3}?(?:affect|influence|drive|"
     r"impact|change|determine)\s+", True, True),
    (r"\bexplain(?:ing)?\s+|\bwhy\s+(?:(?:do|does|did|is|are|would|will|the)\s+)*", False, True),
]  # fmt: skip
_VERB_NOTES = {"classify": "task: classification", "forecast": "forecast: a tabular target"}
_QUOTED = r"""([\"'`])([^\"'`\x00\n]+)\1"""
_WORDS = re.compile(r"\w[\w'’-]*")
_TOKEN = re.compile(r"\w(?:[\w'’/-]|\.(?=\w))*")  # a word, or a file name
_AFTER = re.compile(rf"[ \t]*(?:{_QUOTED}|(?P<w>\w[\w'’-]*(?:[ \t]+\w[\w'’-]*){{0,4}}))")
_BEFORE = re.compile(rf"(?:{_QUOTED}|(?P<w>(?:\w[\w'’-]*[ \t]+){{0,3}}\w[\w'’-]*))[ \t]*$")
_STOP = _vocab(
    "in on from using with for and or then to by based given within into via so but at under of "
    "while after before please plus also now when as is are was it them this that these those "
    "everything something anything model models results predictions data dataset"
)
_LEAD = _vocab("the a an my our their whether if which how much many")
_TRAIL = _vocab("column variable field label value values")
_AUX = _vocab("will would whether if the a an is are be going to does do did")
FILLER = _vocab(
    "please pls kindly and the a an me my our us we i i'd i'm i'll you your can could would will "
    "shall should it it's its this that these those them they then now also just too so to of "
    "for with on in at by from into as is are was be been do does did done let let's lets tell "
    "show give get got see want wanna like need know use using run make some all any what how "
    "which there here okay ok hi hello hey thanks thank first next after afterwards finally go "
    "ahead try data dataset file model models column columns find out up well good best nice "
    "really quickly quick much very about if whether or but maybe help sure have has had "
    "instead again more than same one everything"
)
