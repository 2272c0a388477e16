"""Deployment benchmark (``zoo.compress``) on the real weights that install offline, in
one run, CPU, offline:

    .venv/bin/python bench/compress.py            # writes bench/results/compress.md and docs/deploy.md's table
    .venv/bin/python bench/compress.py --quick    # fewer repeats and epochs, prints only

1. all-MiniLM-L6-v2, dynamic int8 (Linear + Embedding): file size, latency at batch 1
   and 32, embedding cosine similarity to the fp32 model on the real sentences below.
2. EfficientNet-Lite0 (ImageNet) fine-tuned on digits (recipe ``full``), then static int8
   (FX, x86, calibrated on 256 training images): accuracy drop, latency.
3. The same fine-tuned Lite0, 30% channel pruning + a recovery fine-tune.
4. Distillation: the fine-tuned Lite0 teaches MobileNetV3-Small (from scratch); the same
   student trained from scratch without a teacher, with the same data and time budget.
5. ONNX Runtime and torch.export vs eager PyTorch: latency and the largest output
   difference.

Every ratio compares two models measured in the same run, taking turns run by run (the
machine is shared: absolute times are noisy, ratios less so). Threads are stated.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: no spinning threads on a shared CPU

ROOT = Path(__file__).resolve().parents[1]
LITE0 = "tf_efficientnet_lite0.lite0_in1k_pypi"
MINILM = "all-minilm-l6-v2"
STUDENT = "mobilenetv3_small_100"

# Real sentences (written for this benchmark): news, questions, instructions, reviews.
SENTENCES = [
    "The central bank raised interest rates by a quarter point on Wednesday.",
    "How do I reset my password if I no longer have access to my email?",
    "The hotel room was clean, but the walls were thin and the street was loud all night.",
    "Preheat the oven to 200 degrees and grease a large baking tray.",
    "A magnitude 6.1 earthquake struck off the coast early this morning.",
    "Our quarterly revenue grew 12 percent, driven by subscriptions in Europe.",
    "Can you recommend a good book about the history of mathematics?",
    "The train to Edinburgh is delayed by forty minutes because of a signal failure.",
    "Water boils at a lower temperature at high altitude.",
    "She finished the marathon in just under three and a half hours.",
    "This phone's battery lasts two days, which is great, but the camera is mediocre.",
    "The committee will publish its final report next spring.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "Please send me the signed contract by Friday afternoon.",
    "The museum's new wing houses a collection of medieval manuscripts.",
    "Is it safe to eat raw cookie dough?",
    "Heavy rain is expected across the north of the country this weekend.",
    "The software update fixed the crash but made the app noticeably slower.",
    "Neural networks are trained by adjusting weights to minimise a loss function.",
    "The striker scored twice in the second half to win the match.",
    "Remember to water the tomatoes every evening during the heatwave.",
    "The city council approved a new cycle lane along the river.",
    "What is the difference between a virus and a bacterium?",
    "He apologised for the misunderstanding and offered a full refund.",
    "The telescope captured images of a galaxy thirteen billion light years away.",
    "Our flight was cancelled, so we spent the night at the airport.",
    "The recipe calls for two cups of flour and a pinch of salt.",
    "Electric cars are becoming cheaper as battery prices fall.",
    "The defendant pleaded not guilty to all charges.",
    "I love how quiet this dishwasher is compared to our old one.",
    "The library extends its opening hours during the exam period.",
    "Volcanic ash grounded hundreds of flights across the region.",
    "Translate this paragraph into French before the meeting.",
    "The orchestra performed Beethoven's ninth symphony to a full house.",
    "Regular exercise lowers the risk of heart disease.",
    "The startup raised forty million dollars in its latest funding round.",
    "Where can I find the nearest pharmacy that is open on Sunday?",
    "The bridge will be closed for repairs until the end of the month.",
    "Glaciers in the Alps have lost a third of their volume since 2000.",
    "The customer service was friendly and solved my problem in minutes.",
    "Parliament will debate the new data protection bill next week.",
    "The kitten slept curled up on the warm windowsill.",
    "Sort the list in ascending order and remove duplicates.",
    "The price of coffee beans rose sharply after a poor harvest in Brazil.",
    "Vaccines train the immune system to recognise a pathogen.",
    "The novel follows three generations of a family in post-war Italy.",
    "Our internet connection drops every evening around eight o'clock.",
    "The researchers published their findings in a peer-reviewed journal.",
    "Wind turbines generated more electricity than coal for the first time.",
    "Please keep your seatbelt fastened while the sign is illuminated.",
    "The chess champion defended her title in a tense final game.",
    "Add the onions and cook until soft and golden.",
    "The new policy allows employees to work from home two days a week.",
    "A rare white whale was spotted off the coast of Norway.",
    "The film's special effects were impressive, but the plot made no sense.",
    "Inflation eased slightly in October, according to official figures.",
    "How long does it take to learn to play the guitar?",
    "The school will install solar panels on its roof this summer.",
    "Scientists discovered a new species of frog in the rainforest.",
    "The package was left at the door and got soaked in the rain.",
    "The mayor promised to build more affordable housing.",
    "Keep the medicine out of reach of children.",
    "Tickets for the concert sold out within ten minutes.",
    "The algorithm runs in linear time with respect to the input size.",
]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def _verdict(ok: bool, why: str = "") -> str:
    return "met" if ok else f"**missed**{': ' + why if why else ''}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and epochs; print only")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    parser.add_argument("--size", type=int, default=64, help="digits upsampled to this (default 64)")
    parser.add_argument("--out", default=None, help="markdown output (default: bench/results/compress.md)")
    args = parser.parse_args(argv)

    home = tempfile.mkdtemp(prefix="zoo-bench-compress-")
    os.environ["ZOO_HOME"] = home
    os.environ.pop("ZOO_REGISTRY_URL", None)
    import torch

    import zoo
    from zoo.finetuning.digits import digits

    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    repeats = 5 if args.quick else 15
    epochs = 1 if args.quick else 3
    registry = zoo.Registry()
    rows: list[list[str]] = []
    lines: list[str] = []
    t_start = time.perf_counter()

    def log(text: str) -> None:
        print(f"[{time.perf_counter() - t_start:7.1f} s] {text}", flush=True)

    # 1. MiniLM dynamic int8 --------------------------------------------------------------
    minilm = zoo.compress(
        MINILM,
        "dynamic-int8",
        calibration=SENTENCES,
        eval=SENTENCES,
        repeats=repeats,
        threads=threads,
        registry=registry,
        register_as="bench/minilm-int8",
        eval_name="bench-sentences",
    )
    m = minilm.measured
    f, l1, l32 = minilm.ratio("file_bytes"), minilm.ratio("latency_ms_b1"), minilm.ratio("latency_ms_b32")
    log(minilm.summary())
    rows.append(
        [
            "MiniLM-L6 dynamic int8",
            f"{f:.2f}x (<= 0.35x: {_verdict(f <= 0.35)})",
            f"b1 {l1:.2f}x, b32 {l32:.2f}x (<= 0.7x: {_verdict(min(l1, l32) <= 0.7, 'see notes')})",
            f"cosine mean {m['cosine_mean']:.4f}, min {m['cosine_min']:.4f} (>= 0.99: "
            f"{_verdict(m['cosine_mean'] >= 0.99, 'see notes')})",
        ]
    )

    # 2. Lite0 fine-tuned on digits -> static int8 ------------------------------------------
    model = zoo.get(LITE0, num_classes=10, registry=registry, device="cpu")
    train, test = digits(args.size, preprocessing=dict(model.zoo.preprocessing))
    torch.manual_seed(0)
    ft = zoo.finetune(
        model,
        train,
        test,
        recipe="full",
        epochs=epochs,
        lr=3e-3,
        backbone_lr_mult=0.3,
        batch_size=32,
        device="cpu",
        register_as="bench/lite0-digits",
        dataset="uci-digits",
        registry=registry,
        progress=False,
    )
    teacher = ft.registered
    log(f"fine-tuned {teacher}: {ft.summary()}")
    x, y = train.tensors
    calib = (x[:256], y[:256])
    evald = test.tensors
    static = zoo.compress(
        teacher,
        "static-int8",
        calibration=calib,
        eval=evald,
        repeats=repeats,
        threads=threads,
        registry=registry,
        register_as="bench/lite0-digits-int8",
        eval_name="uci-digits",
    )
    s = static.measured
    log(static.summary())
    l1, l32 = static.ratio("latency_ms_b1"), static.ratio("latency_ms_b32")
    rows.append(
        [
            f"Lite0 (digits {args.size}px) static int8",
            f"{static.ratio('file_bytes'):.2f}x",
            f"b1 {l1:.2f}x, b32 {l32:.2f}x (<= 0.7x: {_verdict(l32 <= 0.7, 'see notes')})",
            f"acc {100 * s['parent_accuracy']:.2f}% -> {100 * s['child_accuracy']:.2f}% "
            f"(drop {s['accuracy_drop_pt']:.2f} pt, <= 1: {_verdict(s['accuracy_drop_pt'] <= 1)})",
        ]
    )

    # 3. 30% channel pruning + recovery ------------------------------------------------------
    pruned = zoo.compress(
        teacher,
        "prune-channels",
        calibration=(x, y),
        eval=evald,
        ratio=0.3,
        recovery_epochs=epochs,
        recovery_lr=3e-3,
        repeats=repeats,
        threads=threads,
        registry=registry,
        register_as="bench/lite0-digits-pruned",
        eval_name="uci-digits",
    )
    p = pruned.measured
    log(pruned.summary() + f" {pruned.info}")
    l1, l32 = pruned.ratio("latency_ms_b1"), pruned.ratio("latency_ms_b32")
    rows.append(
        [
            "Lite0 30% channels pruned + recovery",
            f"{pruned.ratio('file_bytes'):.2f}x "
            f"({pruned.info['params_after']:,} of {pruned.info['params_before']:,} parameters)",
            f"b1 {l1:.2f}x, b32 {l32:.2f}x (<= 0.8x: {_verdict(l32 <= 0.8, 'see notes')})",
            f"acc {100 * p['parent_accuracy']:.2f}% -> {100 * p['child_accuracy']:.2f}% "
            f"(drop {p['accuracy_drop_pt']:.2f} pt, <= 2: {_verdict(p['accuracy_drop_pt'] <= 2)})",
        ]
    )

    # 4. distillation vs the same student from scratch, same data and time -----------------
    budget = 60.0 if args.quick else 240.0
    distilled = zoo.compress(
        teacher,
        "distill",
        calibration=(x, y),
        eval=evald,
        student=STUDENT,
        epochs=50,
        lr=3e-3,
        batch_size=64,
        time_limit_s=budget,
        repeats=repeats,
        threads=threads,
        registry=registry,
        register_as="bench/student-distilled",
        eval_name="uci-digits",
    )
    d = distilled.measured
    torch.manual_seed(distilled.options["seed"])
    scratch_model = zoo.get(STUDENT, 10, pretrained=False, registry=registry, device="cpu")
    scratch = zoo.finetune(
        scratch_model,
        (x, y),
        test,
        recipe="full",
        epochs=50,
        lr=3e-3,
        backbone_lr_mult=1.0,
        batch_size=64,
        time_limit_s=budget,
        seed=distilled.options["seed"],
        registry=registry,
        progress=False,
    )
    log(f"distilled: {distilled.summary()} {distilled.info}; scratch: {scratch.summary()}")
    acc_scratch = scratch.accuracy or 0.0
    rows.append(
        [
            f"{STUDENT} student (from scratch), {budget:.0f} s budget each",
            f"{distilled.ratio('file_bytes'):.2f}x of the teacher",
            f"b1 {distilled.ratio('latency_ms_b1'):.2f}x, b32 {distilled.ratio('latency_ms_b32'):.2f}x",
            f"distilled {100 * d['child_accuracy']:.2f}% ({distilled.info['epochs_run']} epochs) vs scratch "
            f"{100 * acc_scratch:.2f}% ({len(scratch.metrics)} epochs), teacher "
            f"{100 * d['parent_accuracy']:.2f}%: {_verdict(d['child_accuracy'] > acc_scratch)}",
        ]
    )

    # 5. ONNX Runtime and torch.export vs eager ------------------------------------------------
    for method in ("onnx", "torch-export"):
        out = zoo.compress(
            teacher,
            method,
            calibration=calib,
            eval=evald,
            repeats=repeats,
            threads=threads,
            registry=registry,
            register_as=f"bench/lite0-digits-{method}",
            eval_name="uci-digits",
        )
        log(out.summary())
        rows.append(
            [
                f"Lite0 digits, {method} vs eager",
                f"{out.ratio('file_bytes'):.2f}x",
                f"b1 {out.ratio('latency_ms_b1'):.2f}x ({out.measured['child']['latency_ms_b1']:.2f} vs "
                f"{out.measured['parent']['latency_ms_b1']:.2f} ms), b32 {out.ratio('latency_ms_b32'):.2f}x",
                f"max abs diff {out.measured['max_abs_diff']:.2g}, acc drop {out.measured['accuracy_drop_pt']:.2f} pt",
            ]
        )

    cpu = platform.processor() or platform.machine()
    lines = [
        f"Measured by `bench/compress.py{' --quick' if args.quick else ''}` on {cpu}, {os.cpu_count()} "
        f"logical CPUs (shared with other jobs), {threads} torch threads (ONNX Runtime: the same), torch "
        f"{torch.__version__}, digits at {args.size}x{args.size}, {repeats} timed runs per batch size "
        f"(median; the two models take turns run by run). Total {time.perf_counter() - t_start:.0f} s.",
        "",
    ]
    lines += _table(["model / method", "file", "CPU latency (child / parent)", "quality"], rows)
    lines += ["", "Registered children (`zoo info bench/lite0-digits` shows the deployment table):", ""]
    info = registry.resolve(teacher)
    from zoo.compression import deployment

    lines += _table(
        ["child", "method", "file MB", "b1 ms", "b32 ms", "peak MB (b32)", "quality"],
        [
            [
                r["name"],
                r["method"],
                f"{r['file_bytes'] / 1e6:.2f} ({r['file_bytes_ratio']:.2f}x)",
                f"{r['latency_ms_b1']:.2f} ({r['latency_ms_b1_ratio']:.2f}x)",
                f"{r['latency_ms_b32']:.1f} ({r['latency_ms_b32_ratio']:.2f}x)",
                "" if r["peak_mb"] is None else f"{r['peak_mb']:.1f}",
                f"acc {r['acc@1']:.2f}%" if r["acc@1"] is not None else "",
            ]
            for r in deployment(registry, info)
        ],
    )
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick or args.out:
        out_path = Path(args.out) if args.out else ROOT / "bench" / "results" / "compress.md"
        out_path.write_text("# zoo.compress benchmark\n\n" + text, encoding="utf-8")
        deploy = ROOT / "docs" / "deploy.md"
        if deploy.exists() and not args.out:
            doc = deploy.read_text(encoding="utf-8")
            start, end = "<!-- bench:start -->", "<!-- bench:end -->"
            if start in doc and end in doc:
                doc = doc[: doc.index(start) + len(start)] + "\n" + text + doc[doc.index(end) :]
                deploy.write_text(doc, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
