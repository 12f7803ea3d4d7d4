"""BEIR-format datasets: a folder, a zip of one, a BEIR download, or Hugging Face ``datasets``.

BEIR layout: ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``,
``text``) and ``qrels/<split>.tsv`` (``query-id corpus-id score``, tab separated, one
header line). Loading follows BEIR's ``GenericDataLoader``: the dataset keeps only the
queries its split judges, and judgments of any grade (0 and negative included) are kept.

Bad input fails with a :class:`DatasetError` that names the file and, where there is
one, the line and field. Judgments that name unknown queries or documents are the one
thing tolerated: they are counted, reported in ``Dataset.warnings`` and dropped, because
published qrels do contain a few of them and refusing the whole dataset would help no one.

``load_dataset(name)`` resolves a name in the order the design fixes: an existing path,
``$RERANK_EVAL_DATASETS/<name>``, the download cache, then BEIR's public zip (verified
against the MD5 BEIR publishes, see ``beir_registry.toml``). ``hf:<id-or-path>`` goes
to Hugging Face ``datasets``.

One concept per module:

- :mod:`~rerank_eval.datasets.model`: :class:`Dataset`, :class:`CorpusDocument`,
  :class:`DatasetError`;
- :mod:`~rerank_eval.datasets.corpus`: the :class:`Corpus` interface (a read-only mapping
  plus ``iter_texts``/``texts``) and :class:`MemoryCorpus`;
- :mod:`~rerank_eval.datasets.corpus_store`: :class:`ArrowCorpus`, a memory-mapped Arrow
  file with an id index; :mod:`~rerank_eval.datasets.corpus_build` streams records into
  one; :mod:`~rerank_eval.datasets.corpus_cache` builds it once per source in the cache,
  verifies and reuses it;
- :mod:`~rerank_eval.datasets.records`: checks shared by every source, and the join of
  judgments into a :class:`Dataset`;
- :mod:`~rerank_eval.datasets.beir`: reading a BEIR folder or zip;
- :mod:`~rerank_eval.datasets.registry`: the downloadable BEIR archives and their MD5s;
- :mod:`~rerank_eval.datasets.download`: fetching and extracting one into the cache;
- :mod:`~rerank_eval.datasets.huggingface`: loading with Hugging Face ``datasets``;
- :mod:`~rerank_eval.datasets.candidate_files`: a candidates file (each query with its
  candidates in the team's retriever's order) as a dataset, read by
  :mod:`~rerank_eval.datasets.candidate_jsonl` (JSONL, MTEB) and
  :mod:`~rerank_eval.datasets.candidate_table` (CSV/TSV) into
  :mod:`~rerank_eval.datasets.candidate_records`;
- :mod:`~rerank_eval.datasets.qrels_file`: judgments from a file replacing a dataset's;
- :mod:`~rerank_eval.datasets.resolve`: :func:`load_dataset`'s resolution order.
"""

from rerank_eval.datasets.beir import (
    CORPUS_FILE,
    QRELS_DIR,
    QUERIES_FILE,
    load_beir_folder,
)
from rerank_eval.datasets.candidate_files import load_candidates_file
from rerank_eval.datasets.corpus import Corpus, MemoryCorpus
from rerank_eval.datasets.corpus_cache import CACHE_ENV, default_store_dir
from rerank_eval.datasets.corpus_store import ArrowCorpus
from rerank_eval.datasets.download import DOWNLOAD_RECORD, URL_ENV, download_beir
from rerank_eval.datasets.huggingface import HF_PREFIX, load_hf_dataset
from rerank_eval.datasets.model import CorpusDocument, Dataset, DatasetError
from rerank_eval.datasets.qrels_file import read_qrels_file, with_qrels_file
from rerank_eval.datasets.registry import (
    BeirEntry,
    BeirRegistry,
    beir_registry,
    known_beir_datasets,
)
from rerank_eval.datasets.resolve import (
    DATASETS_ENV,
    default_cache_dir,
    load_dataset,
)

__all__ = [
    "CACHE_ENV",
    "CORPUS_FILE",
    "DATASETS_ENV",
    "DOWNLOAD_RECORD",
    "HF_PREFIX",
    "QRELS_DIR",
    "QUERIES_FILE",
    "URL_ENV",
    "ArrowCorpus",
    "BeirEntry",
    "BeirRegistry",
    "Corpus",
    "CorpusDocument",
    "Dataset",
    "DatasetError",
    "MemoryCorpus",
    "beir_registry",
    "default_cache_dir",
    "default_store_dir",
    "download_beir",
    "known_beir_datasets",
    "load_beir_folder",
    "load_candidates_file",
    "load_dataset",
    "load_hf_dataset",
    "read_qrels_file",
    "with_qrels_file",
]
