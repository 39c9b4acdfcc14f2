"""The admin's forms for the two custom resource kinds and for Cluster rows.

A resource form checks its input with the same rules as the webhooks (services.specs), then, as
the last step of validation, writes to the cluster through services.writer: the cluster's answer
(a conflicting edit, a webhook denial) lands on the form like any other validation error, on the
field it names, and the user's input (except the secret key) stays in the form.
"""

from __future__ import annotations

from django import forms

from ..models import Cluster, ClusterPullSecret, NamespacedPullSecret, PullSecretResource
from ..services import connectivity, specs, writer
from ..services.identity import access

KEEP_HELP = "Leave empty to keep the current key. Required when the access key ID changes."
NEW_HELP = "Write-only: sent to the cluster object, never stored here nor shown again."
MSG_KEY_REQUIRED_CREATE = "Give the secret access key: it is required to create the resource."
MSG_KEY_REQUIRED_CHANGE = (
    "Give the secret access key that belongs to the new access key ID (the old key cannot be reused)."
)
MSG_NOW_IN_CLUSTER = "Now in the cluster: {changes}. Reload the page to edit the current version."
MSG_CHANGE = "{name} {theirs!r} (your form: {ours!r})"

# Spec field paths in writer errors -> form fields.
FIELD_PATHS = {
    "spec.awsAccess.accessKeyId": "access_key_id",
    "spec.awsAccess.secretAccessKey": "secret_access_key",
    "spec.awsAccess.region": "region",
    "spec.awsAccess": "access_key_id",
    "spec.secretName": "secret_name",
    "spec.namespaces": "namespaces",
}
COMPARED = ("secret_name", "access_key_id", "region", "namespaces")


class NamespacesField(forms.Field):
    """A list of namespaces typed one per line (or separated by commas or spaces)."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 40})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value) -> list[str]:
        if isinstance(value, list):
            return value
        return list(dict.fromkeys((value or "").replace(",", " ").split()))

    def validate(self, value: list[str]) -> None:
        if not value:
            raise forms.ValidationError("List at least one namespace (one per line).", code="required")
        problems = [specs.namespace_problem(ns) for ns in value]
        if any(problems):
            raise forms.ValidationError([p for p in problems if p])


class ResourceForm(forms.ModelForm):
    secret_access_key = forms.CharField(
        label="Secret access key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    # The generation the page showed: the write is refused if the cluster's has moved on since.
    shown_generation = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.written: PullSecretResource | None = None
        if "region" not in self.fields:
            return  # a viewer's read-only page
        creating = not self.instance.pk
        self.fields["secret_access_key"].help_text = NEW_HELP if creating else f"{KEEP_HELP} {NEW_HELP}"
        self.fields["shown_generation"].initial = self.instance.generation
        self.fields["region"].help_text = "AWS region of the registry, e.g. eu-west-1."
        self.fields["access_key_id"].required = True

    # -- checks made before anything is sent ---------------------------------------------------
    def clean_region(self) -> str:
        region = self.cleaned_data["region"].strip()
        if not access.REGION_PATTERN.match(region):
            raise forms.ValidationError(f"{region!r} is not an AWS region name: use one such as eu-west-1.")
        return region

    def clean_secret_name(self) -> str:
        return _valid_name(self.cleaned_data["secret_name"].strip())

    def clean_name(self) -> str:
        return _valid_name(self.cleaned_data["name"].strip())

    def clean_access_key_id(self) -> str:
        return self.cleaned_data["access_key_id"].strip()

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("secret_access_key"):
            if not self.instance.pk:
                self.add_error("secret_access_key", MSG_KEY_REQUIRED_CREATE)
            elif "access_key_id" in data and data["access_key_id"] != self.initial.get("access_key_id"):
                self.add_error("secret_access_key", MSG_KEY_REQUIRED_CHANGE)
        return data

    # -- the write, as the last step of validation ------------------------------------------
    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and not self._errors:
            self._write()

    def _write(self) -> None:
        row = self.instance
        if row.pk and self.cleaned_data.get("shown_generation") is not None:
            row.generation = self.cleaned_data["shown_generation"]
        try:
            self.written = writer.save_to_cluster(row, self.cleaned_data.get("secret_access_key", ""))
        except writer.WriteConflict as exc:
            self.add_error(None, " ".join([str(exc), self._now_in_cluster()]).strip())
        except writer.WriteError as exc:
            for path, messages in exc.fields.items():
                field = FIELD_PATHS.get(path)
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)

    def _now_in_cluster(self) -> str:
        """What the mirror (following the cluster) now holds that differs from the submitted form."""
        if not self.instance.pk:
            return ""
        current = type(self.instance).objects.filter(pk=self.instance.pk).first()
        if current is None:
            return ""
        changes = [
            MSG_CHANGE.format(name=name, theirs=getattr(current, name), ours=self.cleaned_data[name])
            for name in COMPARED
            if name in self.cleaned_data and getattr(current, name, None) != self.cleaned_data[name]
        ]
        return MSG_NOW_IN_CLUSTER.format(changes="; ".join(changes)) if changes else ""


def _valid_name(value: str) -> str:
    problem = specs.name_problem(value)
    if problem:
        raise forms.ValidationError(problem)
    return value


class NamespacedResourceForm(ResourceForm):
    class Meta:
        model = NamespacedPullSecret
        fields = ("cluster", "namespace", "name", "secret_name", "access_key_id", "region")

    def clean_namespace(self) -> str:
        namespace = self.cleaned_data["namespace"].strip()
        problem = specs.namespace_problem(namespace)
        if problem:
            raise forms.ValidationError(problem)
        return namespace


class ClusterResourceForm(ResourceForm):
    namespaces = NamespacesField(help_text="The namespaces to put the Secret in, one per line.")

    class Meta:
        model = ClusterPullSecret
        fields = ("cluster", "name", "secret_name", "namespaces", "access_key_id", "region")


class ClusterForm(forms.ModelForm):
    """A Cluster row: saving tests the connection (the API server's version, or the exact error)."""

    save_unreachable = forms.BooleanField(
        required=False,
        label="Save even if unreachable",
        help_text="Keep the row although the connection test fails (e.g. the cluster is down for now).",
    )

    class Meta:
        model = Cluster
        fields = ("name", "kubeconfig_path", "context", "in_cluster")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.connection: connectivity.Connection | None = None

    def clean(self) -> dict:
        data = super().clean()
        if self._errors:
            return data
        self.connection = connectivity.test(
            data.get("kubeconfig_path", ""), data.get("context", ""), data.get("in_cluster", False)
        )
        if not self.connection.ok and not data.get("save_unreachable"):
            self.add_error(None, f"Connection test failed: {self.connection.error}")
        return data
