"""The workflow's stages: one module per stage, each a plain function over the artifact store.

A stage module owns its name and version (a :class:`~dprune.stages.runner.Stage`),
the settings that change its numbers, its parents and its store I/O; the bookkeeping
(key, exists?, write, resume, logging) is in :mod:`dprune.stages.runner`, once. Domain
modules (``dprune.text``, ``dprune.vectors``, ``dprune.lm``, ``dprune.dynamics``...)
know nothing of the store. Prefect tasks in ``tasks/`` wrap these functions; they work
just as well from a notebook with no Prefect at all.

The stage graph (:data:`GRAPH` lists each stage's parents)::

    load -> dataset ─┬─> embed -> embeddings ─┬─> clusters ───────────────> scores ─┐
                     │                        └─> dynamics (probe) ───────> scores ─┤
                     ├─> kenlm -> LM binary ───> perplexity ──────────────> scores ─┤
                     ├─> score (any registered scorer) ───────────────────> scores ─┤
                     ├─> audio_signal (decode, VAD, SNR, clipping...) ────> scores ─┤
                     ├─> transcripts (offline ASR) ──> WER / CER ─────────> scores ─┤
                     ├─> audio_embeddings ──> (as embeddings: clusters, dynamics, duplicates)
                     ├─> dynamics (conv model on log-mel frames) ─────────> scores ─┤
                     ├─> minhash -> signatures ──> near_duplicates ───────> scores ─┤
                     ├─> quality (Gopher statistics) ─────────────────────> scores ─┤
                     ├─> language (py3langid) ────────────────────────────> scores ─┤
                     └─────────────────────────────────────── selection (pruner) ◄──┘
                                                   -> export, report

Every ``scores`` artifact is a table of ``row_id`` plus named float columns, so the
selection stage joins any of them the same way.
"""

from dprune.stages.asr import TRANSCRIPTS, asr_scores_stage, transcripts_stage
from dprune.stages.audio import AUDIO_SIGNAL, audio_signal_stage, audio_stage
from dprune.stages.audio_embeddings import AUDIO_EMBEDDINGS, audio_embeddings_stage
from dprune.stages.clusters import CLUSTERS, cluster_stage, clusters_stage, read_centroids, read_clusters
from dprune.stages.dataset import DATASET, load_stage
from dprune.stages.dynamics import DYNAMICS, dynamics_stage, train_stage
from dprune.stages.embeddings import EMBEDDINGS, embed_stage, read_embeddings
from dprune.stages.export import ExportPaths, export_stage
from dprune.stages.kenlm import KENLM, kenlm_stage, model_path
from dprune.stages.language import LANGUAGE, language_stage
from dprune.stages.minhash import MINHASH, minhash_stage
from dprune.stages.near_duplicates import NEAR_DUPLICATES, PAIRS, near_duplicates_stage
from dprune.stages.perplexity import PERPLEXITY, perplexity_scores_stage, perplexity_stage
from dprune.stages.quality import QUALITY, quality_stage
from dprune.stages.report import REPORT, PublishedReport, publish_report, report_stage
from dprune.stages.runner import Stage, StageOutput, run_cached, run_sharded
from dprune.stages.scores import SCORES, attach_scores, columns_stage, score_key, score_stage
from dprune.stages.selection import SELECTION, prune_stage

#: Each stored stage and the stages whose artifacts it reads.
GRAPH: dict[str, tuple[str, ...]] = {
    DATASET.name: (),
    EMBEDDINGS.name: (DATASET.name,),
    CLUSTERS.name: (EMBEDDINGS.name,),
    KENLM.name: (DATASET.name,),
    PERPLEXITY.name: (DATASET.name, KENLM.name),
    DYNAMICS.name: (DATASET.name, EMBEDDINGS.name, AUDIO_EMBEDDINGS.name),  # conv_log_mel: the dataset alone
    AUDIO_SIGNAL.name: (DATASET.name,),
    TRANSCRIPTS.name: (DATASET.name,),
    AUDIO_EMBEDDINGS.name: (DATASET.name,),
    MINHASH.name: (DATASET.name,),
    PAIRS.name: (DATASET.name, MINHASH.name),
    NEAR_DUPLICATES.name: (DATASET.name, MINHASH.name),
    QUALITY.name: (DATASET.name,),
    LANGUAGE.name: (DATASET.name,),
    SCORES.name: (DATASET.name, CLUSTERS.name, PERPLEXITY.name, AUDIO_SIGNAL.name, TRANSCRIPTS.name,
                  NEAR_DUPLICATES.name, QUALITY.name, LANGUAGE.name),
    SELECTION.name: (DATASET.name, SCORES.name),
    REPORT.name: (DATASET.name, SCORES.name, SELECTION.name),
}

__all__ = [
    "GRAPH", "Stage", "StageOutput", "run_cached", "run_sharded",
    "load_stage", "embed_stage", "read_embeddings", "clusters_stage", "cluster_stage", "read_clusters",
    "read_centroids", "kenlm_stage", "model_path", "perplexity_scores_stage", "perplexity_stage", "dynamics_stage",
    "train_stage", "score_stage", "score_key", "columns_stage", "attach_scores", "prune_stage", "export_stage",
    "ExportPaths", "report_stage", "publish_report", "PublishedReport", "audio_signal_stage", "audio_stage",
    "transcripts_stage", "asr_scores_stage", "audio_embeddings_stage",
    "minhash_stage", "near_duplicates_stage", "quality_stage", "language_stage",
]
