"""The methods' names, relations, descriptions and option schemas (plain Python, no
torch): :mod:`zoo_compress.plugin` declares the records from these and the runners
validate with the same schemas."""

from __future__ import annotations

from zoo.finetuning.params import COMMON, Param

RATIO = Param(
    "float", 0.3, "fraction of the channels of each prunable group to remove, in (0, 1)", low=0, low_open=True, high=1
)

METHODS: dict[str, dict] = {
    "dynamic-int8": dict(
        runner="zoo_compress.quantize:DynamicInt8",
        relation="quantize",
        description=(
            "Dynamic int8 quantization (weights int8 per channel, activations quantized to 8 bits on the fly): every "
            "nn.Linear, and nn.Embedding with per-row 8-bit weights (embeddings=true). When to use: "
            "transformers (BERT, MiniLM) on CPU. No calibration data."
        ),
        schema={
            "embeddings": Param("bool", True, "also store nn.Embedding weights in 8 bits (per row)"),
            "per_channel": Param("bool", True, "one int8 scale per output channel of each Linear"),
            "reduce_range": Param(
                "bool", False, "7-bit activations: only for x86 CPUs without VNNI, where 8-bit products can saturate"
            ),
            "engine": Param("str", "x86", "quantized kernels", choices=("x86", "fbgemm", "qnnpack")),
        },
    ),
    "static-int8": dict(
        runner="zoo_compress.quantize:StaticInt8",
        relation="quantize",
        description=(
            "Static post-training int8 quantization (FX graph mode, x86 backend): conv+BN+ReLU fused, weights "
            "int8 per channel, activations int8 with ranges calibrated on `calibration` data. When to use: "
            "CNNs on x86 CPUs. Needs calibration data (a few hundred samples)."
        ),
        schema={
            "engine": Param("str", "x86", "quantized kernels", choices=("x86", "fbgemm", "qnnpack")),
            "calibration_batches": Param("int", 32, "at most this many calibration batches", low=1),
        },
    ),
    "prune-channels": dict(
        runner="zoo_compress.prune:PruneChannels",
        relation="prune",
        description=(
            "Structured channel pruning that removes channels: in every conv -> [BN, act] -> [depthwise conv "
            "-> BN, act] -> conv/linear chain (e.g. the expansion of inverted residual blocks), the `ratio` "
            "of channels with the smallest L1 filter norm (Li et al. 2017) is cut out of the weights, so the "
            "model is smaller and faster. Optional recovery fine-tune with a recipe on the labelled "
            "`calibration` data (recovery_epochs>0)."
        ),
        schema={
            "ratio": RATIO,
            "round_to": Param("int", 4, "keep a multiple of this many channels per group", low=1),
            "recovery_epochs": Param("int", 0, "epochs of recovery fine-tuning (0: none)", low=0),
            "recovery_recipe": Param("str", "full", "the recipe of the recovery fine-tune"),
            "recovery_lr": Param("float", 1e-3, "its learning rate", low=0, low_open=True),
            "batch_size": Param("int", 32, "its batch size", low=1),
        },
    ),
    "distill": dict(
        runner="zoo_compress.distill:Distill",
        relation="distill",
        description=(
            "Knowledge distillation (Hinton et al. 2015): train a smaller `student` architecture on the labelled "
            "`calibration` data with the 'distill' recipe (cross-entropy plus alpha * T^2 * KL to the "
            "teacher's softened outputs). The result is the student; its parent is the teacher."
        ),
        schema={
            "student": Param(
                "str", None, "the student: an architecture or weights name zoo.get resolves", optional=True
            ),
            "student_pretrained": Param("bool", False, "start from the student's pretrained weights"),
            "epochs": Param("int", 10, "training epochs", low=1),
            "lr": Param("float", 3e-3, "peak learning rate", low=0, low_open=True),
            "batch_size": Param("int", 64, "batch size", low=1),
            "alpha": Param("float", 0.7, "weight of the distillation term", low=0, high=1),
            "temperature": Param("float", 4.0, "softmax temperature", low=0, low_open=True),
            "time_limit_s": Param(
                "float", None, "stop training after this many seconds", low=0, low_open=True, optional=True
            ),
            "seed": Param("int", 0, "seed of the student's initialisation and the data order", low=0),
        },
    ),
    "onnx": dict(
        runner="zoo_compress.export:Onnx",
        relation="export",
        description=(
            "Export to ONNX (torch.onnx, dynamic batch) and check it in ONNX Runtime against the eager model. "
            "zoo.get returns an OnnxModule: a callable that runs the ONNX Runtime session on torch tensors."
        ),
        schema={
            "opset": Param("int", 18, "ONNX opset", low=13, high=23),
            "atol": Param("float", 1e-3, "largest allowed output difference to eager PyTorch", low=0, low_open=True),
        },
    ),
    "torch-export": dict(
        runner="zoo_compress.export:TorchExport",
        relation="export",
        description=(
            "Export with torch.export (an ExportedProgram, .pt2, dynamic batch). zoo.get returns the "
            "program's module()."
        ),
        schema={},
    ),
}

RECIPE = dict(
    name="distill",
    runner="zoo_compress.distill:DistillRecipe",
    description=(
        "Knowledge distillation from a teacher (Hinton et al. 2015): every parameter of the student trains "
        "on cross-entropy with the labels plus alpha * T^2 * KL(teacher/T || student/T). When to use: a "
        "smaller model should learn from a larger fine-tuned one on the same data."
    ),
    schema=dict(COMMON)
    | {
        "teacher": Param(
            "str", None, "the teacher: a name zoo.get resolves, with the student's classes", optional=True
        ),
        "alpha": Param("float", 0.7, "weight of the distillation term", low=0, high=1),
        "temperature": Param("float", 4.0, "softmax temperature", low=0, low_open=True),
    },
)
