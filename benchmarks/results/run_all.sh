#!/bin/sh
# The benchmark runs recorded in benchmarks/README.md, in the order they ran, one process at a time.
# Total on a loaded 2-core machine: about 100 minutes.
cd "$(dirname "$0")/../.."
R=benchmarks/results
MODELS="dense_vae conv_vae iwae bernoulli_mixture cvae conv_cvae beta_vae mixture_vae denoising_vae gaussian_vae autoencoder"
python benchmarks/throughput.py --repeats 3 --epochs 1 > $R/throughput.log 2>&1                    # 16 min
python benchmarks/quality.py --budgets epochs --name quality-epochs --models $MODELS \
    > $R/quality-epochs.log 2>&1                                                                     # 42 min
python benchmarks/tune.py --config base --config lr=3e-3 --config lr=3e-3+cosine --config batch=64 \
    --config latent=32 --config latent=8 --config widths=256,128 --config warmup=5 > $R/tune.log 2>&1  # 5 min
python benchmarks/throughput.py --parts breakdown ratio xla --proposed-fixes --repeats 3 --epochs 1 \
    --variants xla --name throughput-proposed > $R/throughput-proposed.log 2>&1                     # 9 min
python benchmarks/quality.py --budgets seconds --iwae-examples 500 --name quality-seconds --models $MODELS \
    > $R/quality-seconds.log 2>&1                                                                    # 20 min
python benchmarks/throughput.py --parts xla --xla-models cvae conv_cvae iwae --proposed-fixes \
    --name throughput-proposed-xla-rerun > $R/throughput-proposed-xla-rerun.log 2>&1                  # 1 min
python benchmarks/tune.py --name tune-round2 --config batch=32 --config widths=1024,512 \
    --config batch=64,latent_dim=8 --config batch=64,latent_dim=8,warmup=5 --config batch=64,lr=2e-3 \
    --config dropout=0.1 > $R/tune-round2.log 2>&1                                                   # 6 min
