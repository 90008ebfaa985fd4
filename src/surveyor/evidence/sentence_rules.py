"""What kind of sentence this is, from its words and its section's roles alone (no PDF, no model).

The rules a card's slots share: a sentence about another paper's work, a signpost of the
paper's own structure, a caption, boilerplate "left for future work", a claim of success, a
weakness of the paper's own approach, a plan for future work, a statement about the paper's
own work. slots.py scores with them; each is a plain function of (text, roles) so the rules
can be read and tested apart from any paper.

Roles are those sections.py gives: abstract, intro, related, method, training, experiments,
conclusion, limits (a limitations heading), future (a future-work heading), caption, table,
appendix, body, front.
"""
from __future__ import annotations

import functools
import re

_CITE = r"(?:\[\d+(?:[,–-]\s*\d+)*\]|\(\s*[A-Z][^()]{0,80}?\d{4}[a-z]?\s*\)|[A-Z][\w\-]+ et al\.,? \(?\d{4}[a-z]?\)?)"
_NAME_YEAR = r"[A-Z][\w\-]+(?: and [A-Z][\w\-]+| et al\.)?,? \(?\d{4}[a-z]?\)?"
_REPORTING = (r"(?:show|showed|shown|demonstrat|propos|introduc|present|found|find|observ|report|suggest|argue|"
              r"develop|use[sd]?|appl|stud|explor|extend|achiev|train|distill|consider|investigat|establish|"
              r"employ|adopt|design|leverag|focus|treat|formulat|view|improv|address|enabl|evaluat|allow)\w*")
# "Hinton et al. (2015) showed", "[12] proposes", "Prior work has shown", "Recent studies explore".
_OTHER_LEAD = re.compile(
    rf"^(?:(?:In|By|Following|Unlike|Like|Similar to|Recently,?|Later,?|More recently,?|Previously,?)\s+)?"
    rf"(?:{_NAME_YEAR}|\[\d+(?:[,–-]\s*\d+)*\]|(?:[A-Z][\w\-]+ )?\[\d+\]|"
    rf"(?:prior|previous|earlier|recent|existing|related|concurrent|some|several|many|other) "
    rf"(?:work|works|studies|study|research|methods|approaches|papers|efforts|literature|proposals|techniques)\b)",
    re.I)
_OWN = re.compile(r"\b(?:we|our|ours|us)\b|\bthis (?:paper|work|study|report|article|survey|review)\b|\bhere,? we\b|"
                  r"\bthe proposed\b", re.I)


@functools.lru_cache(maxsize=16384)
def cites_other_work(text: str) -> bool:
    """A sentence that reports another paper's work: led by a citation or "prior work", not by "we".

    "Hinton et al. (2015) showed ...", "[12] proposes ...", "Previous work has used ...".
    A sentence that cites while saying what *we* do ("We follow Hinton et al. (2015) ...") is ours.
    """
    lead = _OTHER_LEAD.match(text.strip())
    if lead:
        before_we = re.split(r"\b(?:we|our)\b", text, maxsplit=1, flags=re.I)[0]
        return len(before_we) > len(lead.group(0)) + 3 or not _OWN.search(text)
    # A citation followed by a reporting verb with no "we"/"our" anywhere: "... as proposed by Li et al. (2021)".
    return bool(re.search(rf"{_CITE}\s*(?:has |have |had )?{_REPORTING}", text)) and not _OWN.search(text)


def is_own_work(text: str) -> bool:
    """Says something about this paper's own work (we, our, this paper, the proposed ...)."""
    return bool(_OWN.search(text)) and not cites_other_work(text)


_SIGNPOST = re.compile(
    r"\bin this (?:section|chapter|subsection|appendix|part)\b|\b(?:the|this) (?:survey|paper|section|chapter) "
    r"(?:continues|concludes|proceeds|closes|ends) with\b|\bin the (?:next|following|previous|last|remaining) "
    r"(?:section|sections|subsection|chapter|paragraphs?|set of experiments|experiments)\b|\bthe (?:rest|remainder) of (?:this|the) paper\b|"
    r"\b(?:is|are) (?:organi[sz]ed|structured) as follows\b|\bwe (?:end|close|conclude) with (?:a|an|the) "
    r"(?:discussion|summary|overview|outlook)\b|\bwe now (?:elaborate|discuss|describe|turn|present|"
    r"detail|explain|introduce|outline|review|summari[sz]e|analy[sz]e|provide|list|examine)\b|"
    r"\bwhich we (?:now |then |next )?(?:elaborate|discuss|describe|detail|explain)(?: on)?\b|"
    r"\bwe (?:first |then |next |briefly |further |also )?(?:will )?(?:discuss|describe|outline|review|summari[sz]e|"
    r"list|detail|present|highlight|point out|elaborate on) (?:[\w\-]+ ){0,5}?(?:avenues|directions|limitations|"
    r"findings|details|implications|open (?:questions|problems)|future work|ideas|caveats|shortcomings|"
    r"improvements|lessons)\b|\b(?:across|in|along) the following (?:\w+ )?(?:directions|areas|aspects|avenues|"
    r"questions)\b|\bthe following (?:limitations|directions|avenues|open questions)\b|"
    r"\b(?:are|is) (?:discussed|described|detailed|presented|given|listed|summari[sz]ed|shown) in (?:Section|Sec\.|"
    r"Appendix|§)|\bbefore a (?:larger|longer|broader) discussion\b|\bas follows:?\s*$|^we (?:begin|start) (?:by|with)\b|"
    r"\bfollowed by (?:an? |the )?(?:in-depth |detailed |brief )?(?:analysis|discussion|description|overview)|"
    r"^(?:however,? )?(?:there (?:are|is|were) (?:still )?|(?:our|this) (?:work|approach|method|paper|study|model) "
    r"(?:still )?(?:has|have) |[\w\- ]{1,40} (?:still )?(?:has|have) )(?:certain )?(?:a number of |several |some |a few |many |(?:two|three|four|five) )?(?:main |"
    r"key |important |major |notable |remaining )?(?:limitations|caveats|shortcomings|drawbacks|weaknesses|"
    r"directions|avenues|open questions)\b[^,;]{0,60}[.:]$", re.I)


@functools.lru_cache(maxsize=16384)
def is_signpost(text: str) -> bool:
    """Points at the paper's structure instead of saying something: "In this section we ...", "We now elaborate"."""
    return bool(_SIGNPOST.search(text))


_CAPTION = re.compile(r"^(?:Figure|Fig\.|Table|Tab\.|Algorithm|Listing)\s*[A-Z]?\d+[.:]?", re.I)


def is_caption(text: str, roles: frozenset = frozenset()) -> bool:
    """A figure or table caption: it labels a picture; it does not state a claim standing alone."""
    return "caption" in roles or bool(_CAPTION.match(text))


_LEAVE_FUTURE = re.compile(
    r"\b(?:leave|leaves|left|defer|deferred|postpone)\b(?P<what>.{0,80}?)\b(?:for|to|as|until)\s+(?:the\s+)?"
    r"(?:future|further|follow-up|subsequent|later)\b(?: (?:work|research|studies|investigation|versions?))?", re.I)
_THIN = re.compile(r"^\s*(?:it|this|that|these|those|them|such|the|this question|these (?:experiments|questions|"
                   r"directions|extensions|studies|issues|ideas|aspects|analyses|explorations?)|this (?:direction|"
                   r"extension|study|question|issue|exploration|analysis|investigation|line of work)|"
                   r"(?:a |the )?(?:more )?(?:thorough|detailed|further|deeper|full|complete|careful) "
                   r"(?:study|analysis|investigation|exploration|evaluation))\s*$", re.I)
_FILLER = frozenset("we leave left leaves it this that these those them for to as the future work research "
                    "further a an of in and is are be will would investigation study exploration".split())
_ANAPHOR = re.compile(r"\b(?:this|these|that|those|it|such)\b", re.I)
_GENERIC = _FILLER | frozenset(
    "believe think hope more thorough detailed deeper careful important interesting promising exciting open "
    "area areas direction directions avenue avenues question questions problem problems issue issues topic "
    "line lines remains remain left worth exploring investigating studying explore investigate study future "
    "work research further also would could should may might one our subject matter need needs needed "
    "deserves warrants test testing examine address pursue verify validate conjecture hypothesis hypotheses idea "
    "ideas possibility possibilities experiments experiment extension extensions analysis analyses aspect aspects "
    "depth detail details however not case cases conducted performed done run true hold holds".split())


def is_boilerplate_future(text: str) -> bool:
    """"We leave these experiments for the future.": a plan that names nothing to do.

    Left for later with a bare "these experiments", or "a more thorough investigation of this
    problem is an important area for future work": what is left is only pointed at.
    """
    match = _LEAVE_FUTURE.search(text)
    if match:
        thin_object = _THIN.match(match["what"]) is not None
        rest = (text[:match.start()] + " " + text[match.end():]).lower()
        words = [w for w in re.findall(r"[a-z][a-z\-]+", rest) if w not in _FILLER]
        if thin_object and len(words) < 4:
            return True
    return is_thin(text)


@functools.lru_cache(maxsize=16384)
def is_thin(text: str) -> bool:
    """Points back at something ("this", "these experiments") and says next to nothing itself.

    "However, this is not the case for video.", "We hope to test this conjecture in future work."
    """
    said = [w for w in re.findall(r"[a-z][a-z\-]+", text.lower()) if w not in _GENERIC]
    return bool(_ANAPHOR.search(text)) and len(said) < 2


# --------------------------------------------------------------------------- polarity

_NOT_WEAK = re.compile(  # negations that praise: "does not require labels", "what works and what does not"
    r"\b(?:does|do|did) not (?:require|need|rely|depend|suffer|hurt|degrade|sacrifice|compromise|increase the cost)|"
    r"\bwhat (?:works|does) and what (?:does not|doesn't)|\bnot only\b|\bwithout (?:requiring|relying|needing|"
    r"any|sacrific|loss|los|degrad|hurt|compromis)\w*|\bno (?:need|longer)\b|\bnot (?:necessarily|surprising)|"
    r"\bneither .{0,40} nor require|\bnot (?:limited|restricted) to\b|\b(?:reduc|mitigat|alleviat|prevent|avoid|"
    r"eliminat|fix|correct|lower)\w* (?:the |its |their )?(?:\w+ )?(?:hallucinat|bias|errors?|mistakes?|noise|"
    r"instabilit|regressions?|degradation|failures?)\w*|\bonly (?:a few|few|one|two|a single|\d+[\w%]*) (?:lines?|hours?|examples|"
    r"labels|minutes|GPUs?|steps|samples|parameters|percent|%)|\bcannot be (?:overstated|ignored)|"
    r"\bover(?:come|comes|coming) (?:th\w+ |the |these )?(?:limitation|challenge|issue|problem|drawback)s?|"
    r"\b(?:address|addresses|addressing|mitigate|mitigates|alleviate|alleviates|solve|solves|resolv\w+|tackl\w+) "
    r"(?:th\w+ |the |these |such |this )?(?:key |main |major )?(?:limitation|challenge|issue|problem|drawback|"
    r"bottleneck)s?", re.I)
_WEAK_STRONG = re.compile(  # each says something is wrong or missing
    r"limitation|\blimiting factor|shortcoming|drawback|disadvantage|weakness|\bcaveat|disanalog|"
    r"\bfail(?:s|ed|ing|ure)?\b|\bfalls? short|\bfell short|\bstruggl|\bunable\b|\bcannot\b|\bcan ?not\b|"
    r"\b(?:does|do|did|has|have|had|is|are|was|were|could|would|will) not\b|n't\b|\bnot (?:as |very |fully |"
    r"yet |always |well |enough|sufficient|suitable|feasible|representative|advantageous|robust|scal)|"
    r"\bneither\b|\bnone of\b|\bnever\b|\b(?:still|is|are|remains?) far from|\bpoor(?:ly)?\b|\bworse\b|"
    r"\bunderperform|\bdegrad|\bhurts?\b|\bimpair|\badverse|\bregressions?\b|\bmistakes?\b|\bprone to|"
    r"\bunstable|\binstabilit|less stable|higher variance|\bcostly|\bprohibitive|"
    r"\bcomputational(?:ly)? (?:budget|cost|burden|constraint)|\bbudget constraints?|\bdemands? a lot|"
    r"\bsensitive to\b|\bbottleneck(?:ed|s? (?:for|in|of))|\b(?:a|the|main|key) bottleneck\b|\bpreliminary\b|\boverly optimistic|\bartificially|\bundetermined|\brestricted to\b|"
    r"\blimited (?:to|by|reasoning|number|set|data|scale|capacity|capabilit)|\b(?:is|are|was|were) (?:only|merely) "
    r"\W?[a-z]|\bonly (?:ran|run|use[ds]?|using|evaluat|test|consider|stud|cover|focus|appl|explor|train|one|"
    r"a single|in (?:a |one )?(?:single|few)|on (?:a |one )?(?:single|few))|\brequire[sd]? (?:users|humans|"
    r"access|careful|manual|massive|substantial|additional|expensive|hand)|\bless (?:effective|accurate|"
    r"efficient|reliable|robust|stable)|\blags? behind|\b(?:slightly |significantly |far |well )?(?:below|"
    r"behind) (?:the |that of |those of )?[A-Z\d]|\bat the cost of|\bbig (?:performance )?gaps?|\bsuffers?\b|"
    r"\bnot (?:as good|directly)\b|\bmore (?:difficult|complicated|complex) to", re.I)
_WEAK_SOFT = re.compile(  # each may say so, in the right sentence
    r"\bbias(?:es|ed)?\b|\bnois[ey]|\bexpensive|\bdifficult (?:to|for)|\bdifficulty (?:in|with|"
    r"of|matching)|\bhard to\b|\bcomplicated|\bslow(?:er|ly|ing)?\b|\bunclear\b|\bgaps?\b(?! between)|"
    r"\bsaturat|\bmay (?:not|require|result in|lead to|make|cause|be (?:a factor|insufficient|biased))|"
    r"\bundesirable|\bissues?\b|\bconfus|\bcrude\b|\btrade-?off\b|\brather than practical|\bdeeper analysis|"
    r"\bmore (?:detailed|thorough) (?:study|analysis)|(?<![-\w])only\b|\bhowever\b|\balthough\b|\bdespite\b|"
    r"\bincorrect|\bhallucinat", re.I)
_QUOTED = re.compile(r"“[^”]{0,200}”|\"[^\"]{0,200}\"")  # quoted words are an example's, not the authors' verdict
_SUCCESS = re.compile(
    r"\boutperform|\bsurpass|\bstate-of-the-art\b|\bSOTA\b|\bachiev(?:es|ed|ing)\b|\bsignificant(?:ly)? "
    r"(?:improv|better|outperform|gain|boost)|\bremarkabl|\bimpressive|\bsubstantial (?:gains?|improvement)|"
    r"\bscalable\b|\bcost-effective|\befficient(?:ly)?\b|\beffective(?:ly|ness)?\b|\brobust(?:ly|ness)?\b|"
    r"\bworks? (?:remarkably |very |surprisingly |really )?well\b|\bsuccess(?:ful(?:ly)?)?\b|\bsuperior\b|"
    r"\bcompetitive\b|\bpromising\b|\bstrong (?:performance|results?)|\bexcellent|\benables?\b|\bprovides? "
    r"(?:a|an|us|the|strong|clear)\b|\benabl\w*|\bdeliver\w*|\bstrong generali[sz]\w*|\bbenefits?\b|\badvantages?\b|\bbetter\b|\bgains?\b|\bboosts?\b|"
    r"\bimprov(?:e|es|ed|ing|ement|ements)\b|\bsimpler\b|\bstability and reliability", re.I)


@functools.lru_cache(maxsize=16384)
def weakness(text: str) -> float:
    """Weight of the sentence's weakness cues (1 a strong one, 0.5 a soft one), praise dressed as negation
    ("does not require") left out; 0 when it has no strong cue and fewer than two soft ones."""
    text = _NOT_WEAK.sub(" ", _QUOTED.sub(" quoted ", text))
    strong, soft = len(_WEAK_STRONG.findall(text)), len(_WEAK_SOFT.findall(text))
    return strong + 0.5 * soft if strong or soft >= 2 else 0.0


_FALLS_BEHIND = re.compile(
    r"\b(?:slightly |significantly |much |far |well )?(?:below|behind)\b|\bworse than\b|\bnot as (?:good|strong|"
    r"accurate|effective) as\b|\bunderperform|\bfalls? short|\bfell short|\blags? behind|\btrails?\b|"
    r"\bnever match|\bless (?:accurate|effective) than\b|\bbig (?:performance )?gaps?", re.I)


def falls_behind(text: str, own: tuple[str, ...] = ()) -> bool:
    """The paper's own method is set below something else: "Our method DeiT is slightly below EfficientNet".

    The subject is what comes just before the cue in its clause: "our ...", "we", or one of
    the paper's own names; "the KL penalty performed worse than ours" is no weakness of ours.
    """
    text = _NOT_WEAK.sub(" ", text)
    pattern = r"\b(?:our|we|ours)\b"
    if own:
        pattern += r"|(?<![\w-])(?:" + "|".join(re.escape(n) for n in own) + ")"
    subject = re.compile(pattern, re.I)
    for match in _FALLS_BEHIND.finditer(text):
        clause = re.split(r"[,;:()]|\b(?:while|whereas|but|and|that)\b", text[max(0, match.start() - 80):match.start()])[-1]
        if subject.search(clause):
            return True
    return False


@functools.lru_cache(maxsize=16384)
def success(text: str) -> int:
    """How many cues of a success claim the sentence has (outperforms, scalable, works well ...)."""
    return len(_SUCCESS.findall(_NOT_WEAK.sub(" ", text)))


def is_success_claim(text: str) -> bool:
    """Says something went well and nothing went wrong: never a limitation or a challenge."""
    w, s = weakness(text), success(text)
    return s > 0 and w == 0 or s >= 2 * w + 2


# --------------------------------------------------------------------------- plans

_FUTURE = re.compile(
    r"\bfuture (?:work|research|studies|study|directions?|versions?|iterations?|improvements?|investigations?|"
    r"efforts?|releases?|models?|systems?)\b|\bin the future\b|\bin future\b|\bfor future (?:work|research|stud|investigation|direction|version)|\bmoving forward\b|"
    r"\bwe (?:also |further )?(?:plan|hope|intend|aim|expect|would like|wish) to\b|\bwe will\b|\bwe'll\b|"
    r"\bwill (?:be )?(?:explore|investigate|study|consider|extend|address|examine|focus|release|be explored)|"
    r"\b(?:leave|leaves|left) .{0,80}\b(?:for|to|as) (?:the )?(?:future|further|follow-up|subsequent)|"
    r"\b(?:more|further|additional|future) (?:work|research|studies|investigation|exploration) (?:is|are|will be) "
    r"(?:needed|required|necessary|warranted)|\b(?:promising|interesting|important|natural|exciting|fruitful|"
    r"open|clear|further) (?:future )?(?:directions?|avenues?|paths?|lines? of (?:research|work)|questions?|"
    r"problems?|research directions?|next steps?)\b|\bopen (?:question|problem)s?\b|\bremains? to be (?:seen|"
    r"explored|studied|investigated)|\bworth (?:exploring|investigating|studying)|\bfollow-up (?:work|research|"
    r"studies)|\bnext steps?\b|\bone could\b|\bwe could\b|\bit would (?:also )?be (?:interesting|useful|good|"
    r"beneficial|valuable|desirable|worthwhile)|\bcould (?:potentially )?be (?:extended|explored|applied|"
    r"addressed|investigated|improved)|\b(?:research|work|studies|advances|advancements|improvements) (?:on|in|"
    r"into) .{0,60}\b(?:will|could|may|might) (?:bring|lead|yield|help|mitigate|further)|\b(?:is|are) envisaged|"
    r"\bwould be (?:natural|interesting|beneficial) to|\bwe are optimistic that|"
    r"\bwould likely improve|\bfurther (?:research|investigation) (?:is|into|on)|\b(?:could|might|may|would) "
    r"(?:also |potentially |likely )?(?:lead to|yield|bring|give) (?:a |an )?(?:better|improved|fairer|further|"
    r"substantial|more)\b|\bcan be (?:sampled|extended|combined|explored|applied) .{0,80}\b(?:could|might|may|"
    r"would)\b", re.I)
_NOT_PLAN = re.compile(  # plans that are no research direction: releasing code, making data public
    r"\b(?:release|releasing|open-?sourc\w*|make (?:\w+ ){0,4}(?:public|publicly available|available))\b", re.I)


@functools.lru_cache(maxsize=16384)
def future_cue(text: str) -> bool:
    """States a plan or an open direction (future work, we plan to, one could, more research is needed).

    Releasing code or data is a promise, not a direction of research.
    """
    text = _QUOTED.sub(" quoted ", text)
    return bool(_FUTURE.search(text)) and not _NOT_PLAN.search(text)


_RESULT_VERB = re.compile(
    r"\boutperform|\bsurpass|\bachiev|\bimprov|\bexceed|\bbeat|\bprefer|\breach(?:es|ed|ing)? "
    r"(?:a |an |the )?(?:\d|top|state|new|comparable|similar|human|expert|performance|accuracy)|\bobtain|"
    r"\bscor(?:es|ed|ing) (?:of )?\d|\bbetter\b|\bhigher\b|\blower\b|\bfewer\b|\bgains?\b|\breduc|\bretain|\bboost|"
    r"\bclos(?:e|es|ing) the gap|\bcomparable\b|\bon par\b|\bsimilarly to\b|\bstate-of-the-art|\bSOTA\b|"
    r"\bfaster\b|\bsmaller\b|\btimes (?:as|more|fewer|faster|smaller)|\btwice\b|\bwin[- ]?rate|\brecover|"
    r"\bsuccessfully\b|\bsuffices?\b|\bwe (?:show|demonstrate|find|found|observe) that\b|\bresults show\b|"
    r"\bis able to\b|\bare able to\b|\bwithin \d|\bmatch(?:es|ing)? (?:or (?:exceeds?|surpass\w*) )?(?:the )?"
    r"(?:performance|accuracy|results?|quality|that of|those of)", re.I)
_COMPARISON = re.compile(
    r"\boutperform|\bsurpass|\b(?:better|worse|faster|smaller|higher|lower|more \w+) than\b|\bbeats?\b|"
    r"\bon par\b|\bcomparabl[ey]\b|\bmatch(?:es|ing)?\b|\bsimilarly to\b|\bpreferred (?:to|over)\b|"
    r"\bcompared (?:to|with)\b|\bover (?:the )?(?:baselines?|prior|previous|existing)|\bstate-of-the-art\b|"
    r"\bsignificantly improv|\bimprov\w* (?:over|upon)", re.I)


@functools.lru_cache(maxsize=16384)
def compares(text: str) -> bool:
    """Sets a result against something else (outperforms, better than, on par with, preferred to)."""
    return bool(_COMPARISON.search(text))


@functools.lru_cache(maxsize=16384)
def result_verb(text: str) -> bool:
    """Says how something compares or what it reached (outperforms, achieves, preferred to, 2x faster)."""
    return bool(_RESULT_VERB.search(_QUOTED.sub(" quoted ", text)))
