"""Knowledge distillation (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a
Neural Network"): the ``distill`` fine-tuning recipe and the ``distill`` method of
``zoo.compress`` that runs it. Imports torch.

The recipe plugs into zoo's training loop without changing it: a forward hook on the
student runs the frozen teacher on the same batch and keeps the distillation term,
which the phase's ``penalty`` adds to the cross-entropy:
``loss = CE(student, y) + alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T))``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from zoo.compression.runner import CompressContext, Compressed, CompressMethod
from zoo.errors import ZooRecipeError, ZooValidationError
from zoo.finetuning.runner import FinetuneContext, ParamGroup, Phase, RecipeRunner
from zoo_compress.specs import METHODS, RECIPE


class DistillRecipe(RecipeRunner):
    name = "distill"
    schema = RECIPE["schema"]

    def check(self) -> None:
        if self.params["teacher"] is None:
            raise ZooValidationError(
                "teacher",
                "the distill recipe needs a teacher",
                hint="teacher='team/model@1' (a name zoo.get resolves, with the student's classes)",
            )

    def plan(self, model: nn.Module, ctx: FinetuneContext) -> Sequence[Phase]:
        from zoo.resolve import get

        p = self.params
        teacher = get(p["teacher"], device=ctx.device, registry=ctx.registry, host=ctx.host)
        for q in teacher.parameters():
            q.requires_grad_(False)
        t, alpha = p["temperature"], p["alpha"]
        state: dict[str, torch.Tensor] = {}

        def hook(module: nn.Module, args: Any, kwargs: Any, output: Any) -> None:
            if not module.training or not torch.is_grad_enabled():
                return  # validation: the plain model
            with torch.no_grad():
                target = teacher(*args, **kwargs)
            if target.shape != output.shape:
                raise ZooRecipeError(
                    f"the teacher {p['teacher']!r} outputs {list(target.shape[1:])}, the student "
                    f"{list(output.shape[1:])}: distillation needs the same classes",
                    hint="fine-tune the teacher on the student's classes first",
                )
            state["kd"] = F.kl_div(
                F.log_softmax(output.float() / t, 1),
                F.log_softmax(target.float() / t, 1),
                reduction="batchmean",
                log_target=True,
            ) * (alpha * t * t)

        def setup(student: nn.Module) -> None:
            teacher.to(next(student.parameters()).device).eval()
            if not getattr(student, "_zoo_distill_hook", None):
                student._zoo_distill_hook = student.register_forward_hook(hook, with_kwargs=True)

        def penalty(student: nn.Module) -> torch.Tensor:
            return state.pop("kd", torch.zeros((), device=next(student.parameters()).device))

        return [
            Phase(
                "distill",
                p["epochs"],
                [ParamGroup("all", [q for q in model.parameters()], p["lr"])],
                setup=setup,
                penalty=penalty,
            )
        ]

    def export(self, model: nn.Module) -> nn.Module:
        handle = model.__dict__.pop("_zoo_distill_hook", None)
        if handle is not None:
            handle.remove()
        return model


class Distill(CompressMethod):
    name = "distill"
    schema = METHODS[name]["schema"]

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if self.options["student"] is None:
            raise ZooValidationError(
                "student",
                "distillation needs a student architecture",
                hint="e.g. student='mobilenetv3_small_050' (zoo list shows architectures)",
            )

    def compress(self, model: nn.Module, ctx: CompressContext) -> Compressed:
        from zoo.finetuning import finetune
        from zoo.resolve import get

        p = self.options
        if ctx.train is None:
            raise ZooValidationError(
                "calibration",
                "distillation trains the student on labelled data",
                hint="pass calibration=(inputs, labels): the training data",
            )
        if ctx.record is None:
            raise ZooValidationError(
                "model_or_name",
                "the teacher must be a model zoo.get resolves by name",
                hint="register the teacher first (zoo.finetune(..., register_as=...))",
            )
        with torch.inference_mode():
            classes = int(model(ctx.train[0][:2]).shape[-1])
        torch.manual_seed(p["seed"])
        student = get(
            p["student"],
            classes,
            pretrained=p["student_pretrained"],
            device="cpu",
            registry=ctx.registry,
            host=ctx.host,
        )
        result = finetune(
            student,
            ctx.train,
            recipe="distill",
            teacher=ctx.record.qualified_name,
            alpha=p["alpha"],
            temperature=p["temperature"],
            epochs=p["epochs"],
            lr=p["lr"],
            batch_size=p["batch_size"],
            time_limit_s=p["time_limit_s"],
            seed=p["seed"],
            registry=ctx.registry,
            host=ctx.host,
            progress=False,
        )
        student = result.model.to("cpu").eval()
        tensors = {k: v.detach().cpu() for k, v in student.state_dict().items()}
        return Compressed(
            student,
            tensors,
            {},
            rebuild=False,
            arch=student.zoo.arch,
            num_classes=classes,
            info={
                "student": p["student"],
                "epochs_run": len(result.metrics),
                "train_accuracy": result.final.train_accuracy if result.final else None,
                "train_s": round(result.wall_time_s, 2),
            },
        )

    def load(self, tensors: dict[str, torch.Tensor], metadata: Mapping[str, str], ctx: CompressContext) -> Any:
        raise NotImplementedError  # rebuild=False: zoo.get loads the student's state dict itself
