"""The exceptions surveyor raises. The CLI turns each into one line and a non-zero exit.

    SurveyorError
    ├── InputError          bad arguments or unreadable input files
    │   └── UnknownTopic    a topic name or alias not in configs/topics/
    ├── CorpusError         problems with the corpus or the index
    │   ├── EmptyCorpus     nothing ingested yet
    │   ├── IndexBusy       another process holds the index lock
    │   └── UpdateBusy      another `surveyor update` or `expand` is running on the same home
    ├── PdfError            a PDF that cannot be parsed (empty, truncated, encrypted, not a PDF)
    ├── NetworkError        arXiv (or another HTTP service) unreachable or failing
    └── LLMError            the generator backend unreachable, timing out or misconfigured
"""


class SurveyorError(Exception):
    """Base class: every error the user should see as a single line."""

    exit_code = 1


class InputError(SurveyorError):
    exit_code = 2


class UnknownTopic(InputError):
    pass


class CorpusError(SurveyorError):
    pass


class EmptyCorpus(CorpusError):
    pass


class IndexBusy(CorpusError):
    exit_code = 3


class UpdateBusy(CorpusError):
    exit_code = 3


class PdfError(SurveyorError):
    pass


class NetworkError(SurveyorError):
    pass


class LLMError(SurveyorError):
    pass
