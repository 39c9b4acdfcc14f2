"""The admin's forms for the two custom resource kinds and for Cluster rows.

A resource form checks its input with the same rules as the webhooks (services.specs, and
services.identity.access for spec.awsAccess), then, as the last step of validation, writes to the
cluster through services.writer: the cluster's answer (a conflicting edit, a webhook denial) lands
on the form like any other validation error, on the field it names, and the user's input (except
the secret key) stays in the form.

The AWS identity is one of four kinds (`identity_kind`), each with its own fields; only the fields
of the chosen kind are read (the page hides the others). The form builds spec.awsAccess from them
(`aws_access`, never with a secret) for the writer, which removes every other kind's fields.
"""

from __future__ import annotations

import re

import yaml
from django import forms
from django.conf import settings

from ..choices import IdentityKind
from ..kube.kinds import CLUSTER, NAMESPACED, Kind
from ..models import Cluster, ClusterPullSecret, NamespacedPullSecret, PullSecretResource
from ..services import connectivity, spec_edits, specs, writer
from ..services.identity import access

KEEP_HELP = "Leave empty to keep the current key. Required when the access key ID changes."
NEW_HELP = "Write-only: sent to the cluster object, never stored here nor shown again."
SWITCH_HELP = "Required to switch to keys in the resource."
MSG_KEY_REQUIRED_CREATE = "Give the secret access key: it is required to create the resource."
MSG_KEY_REQUIRED_CHANGE = (
    "Give the secret access key that belongs to the new access key ID (the old key cannot be reused)."
)
MSG_KEY_REQUIRED_SWITCH = (
    "Give the secret access key of this access key ID: it is required to switch to keys in the resource."
)
MSG_NOW_IN_CLUSTER = "Now in the cluster: {changes}. Reload the page to edit the current version."
MSG_CHANGE = "{name} {theirs!r} (your form: {ours!r})"
MSG_AMBIENT_NOT_HERE = (
    "The operator's own identity is not allowed for {who} (ECRCONTROL_AMBIENT_CREDENTIALS={policy})."
)

# The four kinds as the form offers them.
KIND_CHOICES = [
    (IdentityKind.INLINE.value, "Keys in the resource (an access key ID and its secret access key)"),
    (IdentityKind.SECRET.value, "Keys in a Secret"),
    (IdentityKind.SERVICE_ACCOUNT.value, "A ServiceAccount's web identity (assumes a role, no keys)"),
    (IdentityKind.AMBIENT.value, "The operator's own identity"),
]

# Spec field paths (in the writer's errors and services.identity.access's messages) -> form fields.
FIELD_PATHS = {
    "spec.awsAccess.accessKeyId": "access_key_id",
    "spec.awsAccess.secretAccessKey": "secret_access_key",
    "spec.awsAccess.region": "region",
    "spec.awsAccess.secretRef": "secret_ref_name",
    "spec.awsAccess.secretRef.name": "secret_ref_name",
    "spec.awsAccess.secretRef.namespace": "secret_ref_namespace",
    "spec.awsAccess.secretRef.accessKeyIdKey": "access_key_id_key",
    "spec.awsAccess.secretRef.secretAccessKeyKey": "secret_access_key_key",
    "spec.awsAccess.secretRef.sessionTokenKey": "session_token_key",
    "spec.awsAccess.serviceAccountRef": "service_account_name",
    "spec.awsAccess.serviceAccountRef.name": "service_account_name",
    "spec.awsAccess.serviceAccountRef.namespace": "service_account_namespace",
    "spec.awsAccess.serviceAccountRef.audience": "audience",
    "spec.awsAccess.roleArn": "role_arn",
    "spec.awsAccess.externalId": "external_id",
    "spec.awsAccess.roleSessionName": "role_session_name",
    "spec.secretName": "secret_name",
    "spec.namespaces": "namespaces",
    "spec.namespaceSelector": "namespace_selector",
    "spec.serviceAccounts": "service_accounts",
    "spec.registries": "registries",
}
# A message about spec.awsAccess as a whole (several identities, credentials refused, the operator's
# own identity not allowed) goes on the field that names the chosen identity.
WHOLE_ACCESS = {
    IdentityKind.INLINE: "access_key_id",
    IdentityKind.SECRET: "secret_ref_name",
    IdentityKind.SERVICE_ACCOUNT: "service_account_name",
    IdentityKind.AMBIENT: "identity_kind",
}
# The fields of each reference: form field -> key in spec.awsAccess.<reference>.
SECRET_REF_FIELDS = {
    "secret_ref_name": "name",
    "secret_ref_namespace": "namespace",
    "access_key_id_key": "accessKeyIdKey",
    "secret_access_key_key": "secretAccessKeyKey",
    "session_token_key": "sessionTokenKey",
}
SERVICE_ACCOUNT_FIELDS = {
    "service_account_name": "name",
    "service_account_namespace": "namespace",
    "audience": "audience",
}
REFERENCES = {
    IdentityKind.SECRET: ("secretRef", SECRET_REF_FIELDS),
    IdentityKind.SERVICE_ACCOUNT: ("serviceAccountRef", SERVICE_ACCOUNT_FIELDS),
}
ROLE_FIELDS = {"role_arn": "roleArn", "external_id": "externalId", "role_session_name": "roleSessionName"}
COMPARED = (
    "secret_name",
    "identity_kind",
    "access_key_id",
    "role_arn",
    "region",
    "namespaces",
    "namespace_selector",
    "service_accounts",
    "registries",
)
# The reach fields: form field -> spec field.
REACH_FIELDS = {
    "namespaces": "namespaces",
    "namespace_selector": "namespaceSelector",
    "service_accounts": "serviceAccounts",
    "registries": "registries",
}
REACH_PATHS = {f"spec.{spec_field}": name for name, spec_field in REACH_FIELDS.items()}
MSG_NOT_YAML = "This is not YAML or JSON: {problem}."
MSG_SELECTOR_NOT_OBJECT = (
    "Give a LabelSelector: matchLabels and/or matchExpressions (or {} for every namespace), e.g. "
    "matchLabels: {team: a}"
)
MSG_SELECTOR_KEY = "Unknown key {key!r}: a LabelSelector has matchLabels and matchExpressions only."
MSG_REGISTRY_LINE = (
    "Line {n} ({line!r}): give an account ID and a region, e.g. 123456789012 eu-west-1, or the "
    "registry's host, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com."
)
REGISTRY_HOST = re.compile(r"(?:https://)?([^.\s]+)\.dkr\.ecr\.([^.\s]+)\.amazonaws\.com/?")


def _text(
    label: str, help_text: str = "", max_length: int = 253, placeholder: str = "", size: int = 40
) -> forms.CharField:
    attrs = {"placeholder": placeholder} if placeholder else {}
    return forms.CharField(
        label=label,
        required=False,
        max_length=max_length,
        help_text=help_text,
        widget=forms.TextInput(attrs={"size": size, **attrs}),
    )


class NamesField(forms.Field):
    """A list of names typed one per line (or separated by commas or spaces), without repeats."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 40})

    def __init__(self, **kwargs) -> None:
        super().__init__(required=False, **kwargs)

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value) -> list[str]:
        if isinstance(value, list):
            return value
        return list(dict.fromkeys((value or "").replace(",", " ").split()))


class NamespacesField(NamesField):
    """Namespaces, each checked as a namespace name. None at all is for the form to judge: a
    ClusterAWSECRImagePullSecret may select its namespaces by label instead."""

    def validate(self, value: list[str]) -> None:
        problems = [specs.namespace_problem(ns) for ns in value]
        if any(problems):
            raise forms.ValidationError([p for p in problems if p])


class SelectorField(forms.Field):
    """spec.namespaceSelector typed as YAML or JSON, as in a manifest (empty: no selector). Only its
    shape is read here; its rules are services.specs'."""

    widget = forms.Textarea(
        attrs={
            "rows": 5,
            "cols": 60,
            "class": "vLargeTextField monospace",
            "placeholder": "matchLabels: {team: a}\nmatchExpressions:\n"
            "- {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}",
        }
    )

    def __init__(self, **kwargs) -> None:
        super().__init__(required=False, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, dict):
            return yaml.safe_dump(value, sort_keys=False, default_flow_style=None).strip()
        return "" if value is None else value

    def to_python(self, value) -> dict | None:
        if isinstance(value, dict) or value is None:
            return value
        if not value.strip():
            return None
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or str(exc)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            raise forms.ValidationError(MSG_NOT_YAML.format(problem=f"{problem}{where}")) from None
        if parsed is None:
            return None
        if not isinstance(parsed, dict):
            raise forms.ValidationError(MSG_SELECTOR_NOT_OBJECT)
        unknown = [key for key in parsed if key not in ("matchLabels", "matchExpressions")]
        if unknown:
            raise forms.ValidationError([MSG_SELECTOR_KEY.format(key=key) for key in unknown])
        return parsed


class RegistriesField(forms.Field):
    """spec.registries, one registry a line: `<accountId> <region>` (or its host). Only the lines'
    shape is read here; the rules (12 digits, a region, at most 20, no repeats) are services.specs'."""

    widget = forms.Textarea(
        attrs={"rows": 3, "cols": 40, "placeholder": "123456789012 eu-west-1\n210987654321 us-east-1"}
    )

    def __init__(self, **kwargs) -> None:
        super().__init__(required=False, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(f"{r.get('accountId', '')} {r.get('region', '')}" for r in value)
        return value

    def to_python(self, value) -> list[dict]:
        if isinstance(value, list):
            return value
        found, errors = [], []
        for n, line in enumerate((value or "").splitlines(), start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            host = REGISTRY_HOST.fullmatch(text)
            parts = list(host.groups()) if host else text.replace(",", " ").split()
            if len(parts) != 2:
                errors.append(MSG_REGISTRY_LINE.format(n=n, line=text))
                continue
            found.append({"accountId": parts[0], "region": parts[1]})
        if errors:
            raise forms.ValidationError(errors)
        return found


class ResourceForm(forms.ModelForm):
    kube_kind: Kind = NAMESPACED

    secret_access_key = forms.CharField(
        label="Secret access key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    # Keys in a Secret (spec.awsAccess.secretRef)
    secret_ref_name = _text("Secret name", "The Secret that holds the keys, e.g. aws-creds.")
    secret_ref_namespace = _text(
        "Secret namespace", "The namespace the Secret is in (required here).", max_length=63
    )
    # the Secret's data keys, on one line
    access_key_id_key = _text("Key of the access key ID", placeholder=access.DEFAULT_KEYS[0], size=24)
    secret_access_key_key = _text("Key of the secret key", placeholder=access.DEFAULT_KEYS[1], size=24)
    session_token_key = _text(
        "Key of a session token",
        "Leave the data keys empty for the defaults shown. A session token is used when the Secret has one.",
        placeholder=access.DEFAULT_KEYS[2],
        size=24,
    )
    # A ServiceAccount's web identity (spec.awsAccess.serviceAccountRef)
    service_account_name = _text(
        "ServiceAccount name", "The ServiceAccount whose token assumes the role, e.g. ecr-puller."
    )
    service_account_namespace = _text(
        "ServiceAccount namespace", "The namespace the ServiceAccount is in (required here).", max_length=63
    )
    audience = _text(
        "Audience",
        "The token's audience, as the role's trust policy expects it. Leave empty for the default.",
        max_length=access.AUDIENCE_MAX,
        placeholder=access.DEFAULT_AUDIENCE,
    )
    # The role assumed from the base identity
    external_id = _text(
        "External ID",
        "Only if the role's trust policy requires one (sts:ExternalId). Not with a ServiceAccount.",
        max_length=1224,
    )
    role_session_name = _text(
        "Role session name",
        "As CloudTrail records it. Leave empty for a name made of this resource's kind and name.",
        max_length=64,
    )
    # The generation the page showed: the write is refused if the cluster's has moved on since.
    shown_generation = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.written: PullSecretResource | None = None
        self.original_kind = self.instance.identity_kind
        if "region" not in self.fields:
            return  # a viewer's read-only page
        creating = not self.instance.pk
        key_help = NEW_HELP
        if not creating:
            inline = self.original_kind == IdentityKind.INLINE
            key_help = f"{KEEP_HELP if inline else SWITCH_HELP} {NEW_HELP}"
        self.fields["secret_access_key"].help_text = key_help
        self.fields["shown_generation"].initial = self.instance.generation
        self.fields["region"].help_text = "AWS region of the registry (and of STS), e.g. eu-west-1."
        self.fields["access_key_id"].label = "Access key ID"
        self.fields["access_key_id"].help_text = "The IAM user's access key ID, e.g. AKIAIOSFODNN7EXAMPLE."
        self._identity_field()
        self._role_field()
        self._initial_identity()

    def _identity_field(self) -> None:
        field = self.fields["identity_kind"]
        field.label = "AWS identity"
        field.choices = KIND_CHOICES
        field.help_text = "Which credentials fetch the ECR token. Each choice shows the fields it needs."
        if not access.ambient_allowed(self.kube_kind):
            policy = settings.ECRCONTROL_AMBIENT_CREDENTIALS
            who = f"{self.kube_kind.kind}s" if self.kube_kind.namespaced else "cluster-scoped resources"
            field.help_text += " " + MSG_AMBIENT_NOT_HERE.format(who=who, policy=policy)

    def _role_field(self) -> None:
        field = self.fields["role_arn"]
        field.label = "Role ARN"
        field.help_text = (
            "An IAM role to assume from the identity above, e.g. arn:aws:iam::123456789012:role/ecr-puller. "
            "Required with a ServiceAccount; optional otherwise."
        )

    def _initial_identity(self) -> None:
        """The identity fields from the row's spec.awsAccess (the mirror's, without any secret)."""
        shown = self.instance.aws_access if isinstance(self.instance.aws_access, dict) else {}
        values = {}
        for reference, fields in REFERENCES.values():
            ref = shown.get(reference) if isinstance(shown.get(reference), dict) else {}
            values.update({name: ref.get(key, "") for name, key in fields.items()})
        values.update({name: shown.get(key, "") for name, key in ROLE_FIELDS.items() if name != "role_arn"})
        for name, value in values.items():
            if name in self.fields and isinstance(value, str):
                self.initial.setdefault(name, value)

    # -- checks made before anything is sent ---------------------------------------------------
    def clean_region(self) -> str:
        region = self.cleaned_data["region"].strip()
        if not access.REGION_PATTERN.fullmatch(region):
            raise forms.ValidationError(f"{region!r} is not an AWS region name: use one such as eu-west-1.")
        return region

    def clean_secret_name(self) -> str:
        return _valid_name(self.cleaned_data["secret_name"].strip())

    def clean_name(self) -> str:
        return _valid_name(self.cleaned_data["name"].strip())

    def clean_access_key_id(self) -> str:
        return self.cleaned_data["access_key_id"].strip()

    def clean_secret_ref_namespace(self) -> str:
        return _valid_namespace(self.cleaned_data["secret_ref_namespace"].strip())

    def clean_service_account_namespace(self) -> str:
        return _valid_namespace(self.cleaned_data["service_account_namespace"].strip())

    def clean(self) -> dict:
        data = super().clean()
        self._check_reach(data)
        kind = data.get("identity_kind")
        if not kind:
            return data
        wanted = self._aws_access(kind, data)
        self._check_identity(kind, wanted, data)
        if kind == IdentityKind.INLINE:
            self._check_key(data)
        else:
            data["secret_access_key"] = ""  # typed before another identity was chosen: not used
        data["aws_access"] = wanted
        return data

    def _aws_access(self, kind: str, data: dict) -> dict:
        """spec.awsAccess's identity as the form describes it (no region, no secret key). A
        reference keeps the fields of the row's own that the form has none for."""
        found: dict = {}
        if kind == IdentityKind.INLINE:
            found["accessKeyId"] = data.get("access_key_id", "")
        if kind in REFERENCES:
            reference, fields = REFERENCES[kind]
            shown = self.instance.aws_access if isinstance(self.instance.aws_access, dict) else {}
            ref = dict(shown.get(reference) or {}) if self.original_kind == kind else {}
            for name, key in fields.items():
                if name not in self.fields:
                    continue
                value = (data.get(name) or "").strip()
                if value:
                    ref[key] = value
                else:
                    ref.pop(key, None)
            found[reference] = ref
        for name, key in ROLE_FIELDS.items():
            value = (data.get(name) or "").strip()
            if value:
                found[key] = value
        return found

    def _check_identity(self, kind: str, wanted: dict, data: dict) -> None:
        """Required fields of the chosen kind, then services.identity.access's rules, each message on
        its field (unless that field already has an error)."""
        required = {
            IdentityKind.INLINE: "access_key_id",
            IdentityKind.SECRET: "secret_ref_name",
            IdentityKind.SERVICE_ACCOUNT: "service_account_name",
        }.get(kind)
        if required and not data.get(required) and required not in self._errors:
            self.add_error(required, forms.ValidationError(self.fields[required].error_messages["required"]))
            return
        namespace = data.get("namespace") or getattr(self.instance, "namespace", "")
        # The secret key's own rules are _check_key's.
        probe = {**wanted, "region": data.get("region", "")}
        for message in access.edit_problems(self.kube_kind, namespace, probe):
            for path in writer.field_errors(message):
                field = self.field_for(path, kind)
                if field not in self._errors:
                    self.add_error(field, message)

    def _check_reach(self, data: dict) -> None:
        """The namespaces, selector, ServiceAccounts and registries with services.specs' rules, each
        message on its field (unless that field already has an error: its text did not parse)."""
        if any(name in self.fields and name not in data for name in REACH_FIELDS):
            return  # a field that did not parse: its own error says what to fix first
        wanted = {}
        for name, spec_field in REACH_FIELDS.items():
            value = data.get(name)
            if name in self.fields and value not in (None, []):
                wanted[spec_field] = value
        row = self.instance
        current = spec_edits.reach_spec(row) if row.pk else None
        namespace = data.get("namespace") or getattr(row, "namespace", "")
        for path, messages in spec_edits.problems(self.kube_kind, namespace, wanted, current).items():
            field = self.field_for(path, data.get("identity_kind", ""))
            for message in messages:
                self.add_error(field, message)

    def field_for(self, path: str, kind: str) -> str | None:
        """The form field a spec field path names (None: the form as a whole). A part of a reach field
        ("spec.registries.1.accountId") is on that field."""
        if path == "spec.awsAccess":
            field = WHOLE_ACCESS.get(kind)
        else:
            field = FIELD_PATHS.get(path) or REACH_PATHS.get(".".join(path.split(".")[:2]))
        return field if field in self.fields else None

    def _check_key(self, data: dict) -> None:
        if data.get("secret_access_key"):
            return
        if not self.instance.pk:
            self.add_error("secret_access_key", MSG_KEY_REQUIRED_CREATE)
        elif self.original_kind != IdentityKind.INLINE:
            self.add_error("secret_access_key", MSG_KEY_REQUIRED_SWITCH)
        elif "access_key_id" in data and data["access_key_id"] != self.initial.get("access_key_id"):
            self.add_error("secret_access_key", MSG_KEY_REQUIRED_CHANGE)

    # -- the write, as the last step of validation ------------------------------------------
    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and not self._errors:
            self._write()

    def _write(self) -> None:
        row = self.instance
        if row.pk and self.cleaned_data.get("shown_generation") is not None:
            row.generation = self.cleaned_data["shown_generation"]
        row.aws_access = self.cleaned_data["aws_access"]
        if row.identity_kind != IdentityKind.INLINE:
            row.access_key_id = ""
        try:
            self.written = writer.save_to_cluster(row, self.cleaned_data.get("secret_access_key", ""))
        except writer.WriteConflict as exc:
            self.add_error(None, " ".join([str(exc), self._now_in_cluster()]).strip())
        except writer.WriteError as exc:
            for path, messages in exc.fields.items():
                field = self.field_for(path, row.identity_kind)
                for message in messages:
                    self.add_error(field, message)

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


def _valid_namespace(value: str) -> str:
    problem = specs.namespace_problem(value) if value else ""
    if problem:
        raise forms.ValidationError(problem)
    return value


IDENTITY_FIELDS = ("identity_kind", "access_key_id", "role_arn", "region")


SERVICE_ACCOUNTS_HELP = (
    "ServiceAccounts to give the Secret to (in their imagePullSecrets), one per line: pods that run as "
    "them pull without naming it. * alone: every ServiceAccount. Empty: none."
)
REGISTRIES_HELP = (
    "More ECR registries in the same Secret, one per line: the account ID and the region "
    "(123456789012 eu-west-1). The registry of the identity's account and region is always there. "
    "At most 20; messages name them from 0 (spec.registries[0] is the first)."
)
REACH = ("service_accounts", "registries")


class NamespacedResourceForm(ResourceForm):
    # An AWSECRImagePullSecret reads a Secret or ServiceAccount of its own namespace only.
    secret_ref_namespace = None
    service_account_namespace = None
    service_accounts = NamesField(label="ServiceAccounts", help_text=SERVICE_ACCOUNTS_HELP)
    registries = RegistriesField(help_text=REGISTRIES_HELP)

    class Meta:
        model = NamespacedPullSecret
        fields = ("cluster", "namespace", "name", "secret_name", *REACH, *IDENTITY_FIELDS)

    def clean_namespace(self) -> str:
        namespace = self.cleaned_data["namespace"].strip()
        problem = specs.namespace_problem(namespace)
        if problem:
            raise forms.ValidationError(problem)
        return namespace


class ClusterResourceForm(ResourceForm):
    kube_kind = CLUSTER
    namespaces = NamespacesField(
        help_text="The namespaces to put the Secret in, one per line. May be empty with a selector."
    )
    namespace_selector = SelectorField(
        label="Namespace selector",
        help_text="Namespaces by label, as a LabelSelector in YAML or JSON: those that match now and "
        "those that come to match later get the Secret, beside the listed ones. {} selects every "
        "namespace; leave some out with NotIn on kubernetes.io/metadata.name. Empty: no selector.",
    )
    service_accounts = NamesField(label="ServiceAccounts", help_text=SERVICE_ACCOUNTS_HELP)
    registries = RegistriesField(help_text=REGISTRIES_HELP)

    class Meta:
        model = ClusterPullSecret
        fields = ("cluster", "name", "secret_name", "namespaces", "namespace_selector", *REACH)
        fields += IDENTITY_FIELDS


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
