"""The benchmarks' Django app: registers the kind the preferences benchmarks send."""

from django.apps import AppConfig

#: A kind users may switch off in every channel: a batch of it makes the worker read the
#: recipients' preferences (messages without a kind need no query; see
#: ``monitio.preferences.load``).
KIND = "bench.comment"


class BenchConfig(AppConfig):
    name = "bench"
    label = "bench"

    def ready(self) -> None:
        import monitio

        monitio.register_kind(KIND, label="Comments (benchmark)")
