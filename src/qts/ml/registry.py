"""Experiment tracking and model registry on MLflow.

Embedded mode: tracking store `sqlite:///<data_dir>/mlflow.db`, artifacts in
`<data_dir>/mlartifacts`. Scale-out: pass the MLflow server URI as `tracking_uri`.
Models are logged as MLflow pyfunc models wrapping the qts model folder (so `mlflow.pyfunc`
serves them too), with a signature, and registered as versions of a named model; the aliases
`staging` and `production` point at versions. Promotion may be gated: the candidate's
out-of-sample Sharpe and IC must beat the current production version's.

Each version carries its recipe (`qts.ml.recipe`): `recipe.json` in the model folder and in
the run, a summary in the version's tags. Loading refuses a version whose features are not
registered or changed since training. A name holds one universe: registering another
universe's model under it is refused (`check_universe`).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from qts.core.errors import ConflictError, NotFoundError, ValidationError
from qts.ml.features.registry import FeatureRegistry
from qts.ml.models.base import BaseModel
from qts.ml.recipe import RECIPE_FILE, ModelRecipe, universe_hash
from qts.ml.run_logger import RunLogger

REFERENCE_FILE = "reference.json"  # qts.ml.monitoring's drift reference

ALIASES = ("staging", "production")
GATE_METRICS = ("oos_sharpe", "oos_ic")
# Policies have no IC: net Sharpe and max drawdown (less deep is higher), after beating
# buy-and-hold out of sample (`qts.ml.rl.evaluation.policy_gate`, logged as a 0/1 metric).
POLICY_GATE_METRICS = ("oos_sharpe", "oos_max_drawdown")
PIP_REQUIREMENTS = ["qts", "numpy", "pandas", "torch==2.13.0", "lightgbm", "mlflow==3.17.2"]


def _python_model_class() -> Any:
    import mlflow.pyfunc

    class QtsPyfuncModel(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
        """Serves a saved qts model: input X, output the model's score (signal)."""

        def load_context(self, context: Any) -> None:
            from qts.ml.models import load_model

            self.model = load_model(context.artifacts["qts_model"])

        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            # No type hints: MLflow would read them as a schema.
            X = np.asarray(model_input, dtype=np.float64)
            return self.model.score_signal(self.model.prepare(X))

    return QtsPyfuncModel


@dataclass
class Promotion:
    """The audit record of one promotion: who moved which alias to what, when, and why."""

    who: str
    model: str
    version: str
    alias: str
    when: str
    previous_version: str | None
    gate: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "who": self.who, "what": {"model": self.model, "version": self.version,
                                     "alias": self.alias, "previous_version": self.previous_version},
            "when": self.when, "gate": self.gate,
        }  # fmt: skip


class ModelRegistry:
    def __init__(self, data_dir: str | Path | None = None, tracking_uri: str | None = None) -> None:
        if tracking_uri is None:
            if data_dir is None:
                raise ValidationError("give a data directory or an MLflow tracking URI")
            folder = Path(data_dir).resolve()
            folder.mkdir(parents=True, exist_ok=True)
            tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
            self.artifact_root: str | None = (folder / "mlartifacts").as_uri()
        else:
            self.artifact_root = None  # the server decides
        self.tracking_uri = tracking_uri
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(self.tracking_uri, registry_uri=self.tracking_uri)
        return self._client

    def experiment_id(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        return str(
            self.client.create_experiment(
                name, artifact_location=self.artifact_root and f"{self.artifact_root}/{name}"
            )
        )

    @contextlib.contextmanager
    def start_run(
        self, experiment: str, run_name: str | None = None, tags: dict[str, str] | None = None
    ) -> Iterator[RunLogger]:
        run = self.client.create_run(self.experiment_id(experiment), run_name=run_name, tags=tags)
        logger = RunLogger(self.client, run.info.run_id)
        status = "FAILED"
        try:
            yield logger
            status = "FINISHED"
        finally:
            self.client.set_terminated(run.info.run_id, status)

    def log_model(
        self,
        run_id: str,
        model: BaseModel,
        X_example: np.ndarray,
        name: str = "model",
        recipe: ModelRecipe | None = None,
        reference: dict[str, Any] | None = None,
    ) -> str:
        """Log `model` (pyfunc, with a signature from `X_example`), its recipe and its drift
        reference (`qts.ml.monitoring`) into the run; returns its URI."""
        import mlflow
        from mlflow.models import infer_signature

        example = np.asarray(X_example[:5], dtype=np.float64)
        signature = infer_signature(example, model.score_signal(model.prepare(example)))
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        with tempfile.TemporaryDirectory() as tmp:
            folder = model.save(Path(tmp) / "qts_model")
            if recipe is not None:
                (folder / RECIPE_FILE).write_text(json.dumps(recipe.to_dict(), default=float))
                self.client.log_dict(run_id, recipe.to_dict(), RECIPE_FILE)
            if reference is not None:
                (folder / REFERENCE_FILE).write_text(json.dumps(reference))
                self.client.log_dict(run_id, reference, REFERENCE_FILE)
            # Advice about type hints and input examples (the signature is given): MLflow
            # resets the filters to "once", so record its warnings instead of showing them.
            with mlflow.start_run(run_id=run_id), warnings.catch_warnings(record=True):
                info = mlflow.pyfunc.log_model(
                    name=name, python_model=_python_model_class()(),
                    artifacts={"qts_model": str(folder)}, signature=signature,
                    pip_requirements=PIP_REQUIREMENTS,
                )  # fmt: skip
        return str(info.model_uri)

    def register(
        self, model_uri: str, name: str, run_id: str, tags: dict[str, str] | None = None
    ) -> str:
        """A new version of registered model `name`; returns the version number as text."""
        with contextlib.suppress(Exception):
            self.client.create_registered_model(name)
        # MLflow 3 logs a model as its own resource (`models:/m-…`); a tracking server accepts
        # that source only with the model's id (a local file store does not check).
        model_id = model_uri.split("/", 1)[1] if model_uri.startswith("models:/m-") else None
        version = self.client.create_model_version(
            name, model_uri, run_id=run_id, tags=tags, model_id=model_id
        )
        return str(version.version)

    # -- reading -----------------------------------------------------------------------------
    def list_models(self) -> list[dict[str, Any]]:
        out = []
        for rm in self.client.search_registered_models():
            aliases = dict(rm.aliases or {})
            by_version: dict[str, list[str]] = {}
            for alias, version in aliases.items():
                by_version.setdefault(str(version), []).append(alias)
            versions = []
            for mv in self.client.search_model_versions(f"name='{rm.name}'"):
                metrics = self.run_metrics(mv.run_id) if mv.run_id else {}
                versions.append({
                    "version": str(mv.version), "run_id": mv.run_id,
                    "aliases": sorted(by_version.get(str(mv.version), [])),
                    "created": datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC).isoformat(),
                    "tags": dict(mv.tags or {}), "metrics": metrics,
                })  # fmt: skip
            versions.sort(key=lambda v: int(v["version"]))
            out.append({"name": rm.name, "aliases": {k: str(v) for k, v in aliases.items()},
                        "versions": versions})  # fmt: skip
        return out

    def run_metrics(self, run_id: str) -> dict[str, float]:
        return {k: float(v) for k, v in self.client.get_run(run_id).data.metrics.items()}

    def training_params(self, name: str, version: str) -> dict[str, str]:
        """The parameters logged by the run that produced `version` (symbols, timeframe, ...)."""
        return dict(self.client.get_run(self._version(name, version).run_id).data.params)

    def version_for_alias(self, name: str, alias: str) -> str | None:
        try:
            return str(self.client.get_model_version_by_alias(name, alias).version)
        except Exception:
            return None

    def load(
        self,
        name: str,
        version: str | None = None,
        alias: str | None = None,
        features: FeatureRegistry | None = None,
    ) -> BaseModel:
        """The qts model of a registered version (or the version an alias points at); refuses
        one whose features are unavailable in `features` (default: the global registry)."""
        return self.load_with_recipe(name, version, alias, features)[0]

    def load_with_recipe(
        self,
        name: str,
        version: str | None = None,
        alias: str | None = None,
        features: FeatureRegistry | None = None,
    ) -> tuple[BaseModel, ModelRecipe | None]:
        """The model and its recipe (None for versions registered before recipes)."""
        import mlflow

        from qts.ml.models import load_model

        if version is None:
            version = self.version_for_alias(name, alias or "production")
            if version is None:
                raise NotFoundError(f"model {name} has no {alias or 'production'} version")
        mv = self._version(name, version)
        # `models:/` URIs resolve through the process-wide registry URI: point it at this
        # registry, or a process that touched another store downloads from the wrong one.
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{name}/{mv.version}", tracking_uri=self.tracking_uri
        )
        folder = Path(local) / "artifacts" / "qts_model"
        recipe = None
        if (folder / RECIPE_FILE).is_file():
            recipe = ModelRecipe.from_dict(json.loads((folder / RECIPE_FILE).read_text()))
            try:
                recipe.definitions(features)
            except ValidationError as exc:
                raise ValidationError(
                    f"model {name} v{mv.version}: {exc.message}", exc.details
                ) from exc
        return load_model(folder), recipe

    def recipe(self, name: str, version: str) -> ModelRecipe | None:
        """A version's recipe from its run (None for versions registered before recipes)."""
        mv = self._version(name, version)
        if "universe_hash" not in (mv.tags or {}):
            return None
        with tempfile.TemporaryDirectory() as tmp:
            try:
                path = self.client.download_artifacts(mv.run_id, RECIPE_FILE, tmp)
                data = json.loads(Path(path).read_text())
            except Exception as exc:
                raise NotFoundError(f"model {name} v{version}: no readable recipe ({exc})") from exc
        return ModelRecipe.from_dict(data)

    def reference(self, name: str, version: str) -> dict[str, Any] | None:
        """A version's drift reference from its run (None for versions trained before them)."""
        mv = self._version(name, version)
        with tempfile.TemporaryDirectory() as tmp:
            try:
                path = self.client.download_artifacts(mv.run_id, REFERENCE_FILE, tmp)
            except Exception:
                return None
            return dict(json.loads(Path(path).read_text()))

    def check_universe(self, name: str, symbols: list[str]) -> None:
        """Refuse (ConflictError) to register `symbols`' model under a name whose versions were
        trained on another universe."""
        wanted = universe_hash(symbols)
        try:
            versions = self.client.search_model_versions(f"name='{name}'")
        except Exception:
            return
        for mv in versions:
            held = (mv.tags or {}).get("universe_hash")
            if held is None and mv.run_id:  # versions from before recipes: their run's symbols
                logged = self.client.get_run(mv.run_id).data.params.get("symbols", "")
                held = universe_hash([s for s in logged.split(",") if s])
            if held != wanted:
                raise ConflictError(
                    f"model {name} v{mv.version} was trained on another universe "
                    f"({(mv.tags or {}).get('universe', 'see its run')}); a name holds one "
                    "universe: leave the name to the default (it carries the universe) or "
                    "choose a new one",
                    {"name": name, "version": str(mv.version), "universe_hash": held},
                )

    def _version(self, name: str, version: str) -> Any:
        try:
            return self.client.get_model_version(name, str(version))
        except Exception as exc:
            raise NotFoundError(f"model {name} has no version {version}") from exc

    # -- promotion ---------------------------------------------------------------------------
    def promote(
        self,
        name: str,
        version: str,
        alias: str = "production",
        who: str = "unknown",
        gate: bool = False,
        gate_metrics: tuple[str, ...] = GATE_METRICS,
    ) -> Promotion:
        """Point `alias` at `version`. With `gate`, refuse (ConflictError) unless every metric
        in `gate_metrics` of the candidate beats the version the alias points at now."""
        if alias not in ALIASES:
            raise ValidationError(f"alias must be one of {ALIASES}, got {alias!r}")
        candidate = self._version(name, version)
        previous = self.version_for_alias(name, alias)
        decision: dict[str, Any] = {"applied": gate}
        if gate and (candidate.tags or {}).get("kind") == "policy":
            gate_metrics = self._policy_gate(name, candidate, decision)
        if gate and previous is not None and previous != str(version):
            new = self.run_metrics(candidate.run_id)
            old = self.run_metrics(self._version(name, previous).run_id)
            comparison = {m: {"candidate": new.get(m), "current": old.get(m)} for m in gate_metrics}
            decision["comparison"] = comparison
            failed = [
                m for m, c in comparison.items()
                if c["candidate"] is None or (c["current"] is not None and not c["candidate"] > c["current"])
            ]  # fmt: skip
            if failed:
                raise ConflictError(
                    f"version {version} of {name} does not beat {alias} version {previous} on {failed}",
                    {"gate": decision},
                )
            decision["passed"] = True
        self.client.set_registered_model_alias(name, alias, str(version))
        when = datetime.now(UTC).isoformat()
        self.client.set_model_version_tag(name, str(version), f"promoted_{alias}_by", who)
        self.client.set_model_version_tag(name, str(version), f"promoted_{alias}_at", when)
        return Promotion(who, name, str(version), alias, when, previous, decision)

    def _policy_gate(self, name: str, candidate: Any, decision: dict[str, Any]) -> tuple[str, ...]:
        """A policy must have beaten buy-and-hold out of sample (Sharpe and drawdown, over
        seeds) to pass; then it is compared with the current version on `POLICY_GATE_METRICS`."""
        passed = self.run_metrics(candidate.run_id).get("policy_gate_passed")
        decision["beats_buy_and_hold"] = passed == 1.0
        if passed != 1.0:
            raise ConflictError(
                f"version {candidate.version} of {name} did not beat buy-and-hold out of sample "
                "(net Sharpe above, drawdown no deeper, mean over seeds)",
                {"gate": decision},
            )
        return POLICY_GATE_METRICS
