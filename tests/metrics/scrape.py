"""Reading a scrape as Prometheus does: prometheus_client's own parser of the text format."""

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of the scrape: (sample name, sorted labels) -> value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The one sample of ``name`` with exactly ``labels``; KeyError if absent."""
    return samples[name, tuple(sorted(labels.items()))]


def by_label(samples: Samples, name: str, label: str, **fixed: str) -> dict[str, float]:
    """The samples of ``name`` whose labels include ``fixed``, keyed by ``label``."""
    found = {}
    for (sample, labels), v in samples.items():
        have = dict(labels)
        if sample == name and all(have.get(k) == x for k, x in fixed.items()):
            found[have[label]] = v
    return found
