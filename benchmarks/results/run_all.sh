#!/bin/sh
# The benchmark runs recorded in benchmarks/README.md, one process at a time, from the repository root.
# Times are from a 2-core machine shared with other work (see benchmarks/README.md, "Machine").
cd "$(dirname "$0")/../.."
R=benchmarks/results
MODELS="dense_vae conv_vae iwae bernoulli_mixture cvae conv_cvae beta_vae mixture_vae denoising_vae gaussian_vae autoencoder"

# Tuning, rounds 1 and 2 ran at commit bafc5de, under the old defaults (batch 128, latent_dim 16). To repeat
# them, check that commit out elsewhere (git worktree add /tmp/old bafc5de) and run these two there.
# python benchmarks/tune.py --config base --config lr=3e-3 --config lr=3e-3+cosine \
#     --config batch=64 --config latent=32 --config latent=8 --config widths=256,128 --config warmup=5 \
#     > $R/tune.log 2>&1                                                                               # 5 min
# python benchmarks/tune.py --name tune-round2 --config batch=32 --config widths=1024,512 \
#     --config batch=64,latent_dim=8 --config batch=64,latent_dim=8,warmup=5 --config batch=64,lr=2e-3 \
#     --config dropout=0.1 > $R/tune-round2.log 2>&1                                                   # 6 min
# Tuning, round 3: seeds, the conv network, the mixture baseline's learning rate at batch 64
python benchmarks/tune.py --name tune-seeds --seeds 0 1 2 --config batch=128,latent_dim=16 \
    --config batch=64,latent_dim=8 --config batch=32,latent_dim=8 > $R/tune-seeds.log 2>&1          # 6 min
python benchmarks/tune.py --model conv_vae --name tune-conv --seeds 0 --config batch=128,latent_dim=16 \
    --config batch=64,latent_dim=8 --config batch=64,latent_dim=16 > $R/tune-conv.log 2>&1          # 6 min
python benchmarks/tune.py --model conv_vae --name tune-conv-seed1 --seeds 1 \
    --config batch=128,latent_dim=16 --config batch=64,latent_dim=8 --config batch=64,latent_dim=16 \
    --config batch=64,latent_dim=32 > $R/tune-conv-seed1.log 2>&1                                    # 10 min
python benchmarks/tune.py --model conv_vae --name tune-conv-latent32 --seeds 0 \
    --config batch=64,latent_dim=32 > $R/tune-conv-latent32.log 2>&1                                 # 3 min
python benchmarks/tune.py --model bernoulli_mixture --name tune-bernoulli-mixture --seeds 0 \
    --config batch=128,lr=0.1 --config batch=64,lr=0.1 --config batch=64,lr=0.05 --config batch=64,lr=0.03 \
    > $R/tune-bernoulli-mixture.log 2>&1
python benchmarks/tune.py --model bernoulli_mixture --name tune-bernoulli-mixture-2 --seeds 0 \
    --config batch=64,lr=0.2 --config batch=64,lr=0.3 --config batch=64,lr=0.5 \
    > $R/tune-bernoulli-mixture-2.log 2>&1
# (bernoulli_mixture's default learning rate became 0.2 here)
# Quality and speed at the new defaults (quality-epochs ran before the mixture's learning rate changed,
# hence its separate rerun)
python benchmarks/quality.py --budgets epochs --name quality-epochs --models $MODELS \
    > $R/quality-epochs.log 2>&1                                                                     # 36 min
python benchmarks/quality.py --budgets epochs --name quality-epochs-bernoulli-mixture \
    --models bernoulli_mixture > $R/quality-epochs-bernoulli-mixture.log 2>&1                        # 1 min
python benchmarks/throughput.py --repeats 3 --epochs 1 --variants spe8 xla xla_spe8 hand_xla \
    > $R/throughput.log 2>&1                                                                         # 26 min (2026-12-02)
python benchmarks/quality.py --budgets seconds --iwae-examples 500 --name quality-seconds --models $MODELS \
    > $R/quality-seconds.log 2>&1
python benchmarks/likelihoods.py --test-dir ../shared/data/mnist > $R/likelihoods.log 2>&1                # 15 min
python benchmarks/likelihoods.py --test-dir ../shared/data/mnist --dequantize --name likelihoods-dequantized \
    > $R/likelihoods-dequantized.log 2>&1                                                            # 10 min
# Issue 14 (2026-12-04): conv_vae's network, searched on a validation split (rounds 5-9 ran with
# --out /tmp/rc --name rA..rE and were copied to recipe-round5..9), then the two final runs at once, one
# per core; the default fit's speed on an idle machine; conv_vae's row of the quality table at the new default
python benchmarks/recipe.py --name recipe-round10 --iwae-k 100 --seeds 0 1 --config net=zoo,batch=64 \
    --config net=zoo,batch=64,lr=2e-3 > $R/recipe-round10.log 2>&1                                  # stopped after seed 0
taskset -c 0 python benchmarks/recipe.py --final --name recipe-final-hand --config net=hand,residual_blocks=0,lr=1e-3 \
    --iwae-k 1000 --iwae-examples 1000 > $R/recipe-final-hand.log 2>&1 &                           # 6 min
taskset -c 1 python benchmarks/recipe.py --final --name recipe-final-zoo --config net=zoo \
    --iwae-k 1000 --iwae-examples 1000 > $R/recipe-final-zoo.log 2>&1; wait                        # 11 min
python benchmarks/recipe.py --collect recipe-round1 recipe-round2 recipe-round4 recipe-round3 recipe-test-hand \
    recipe-round5 recipe-round6 recipe-round7 recipe-round8 recipe-round9 recipe-round10 recipe-final-hand recipe-final-zoo
python benchmarks/throughput.py --parts ratio calls --repeats 3 --epochs 1 --variants spe1 --calls 2 \
    --tracing-repeats 3 --name throughput-auto > $R/throughput-auto.log 2>&1                        # 11 min
taskset -c 1 python benchmarks/quality.py --budgets epochs --name quality-epochs-conv-residual --models conv_vae \
    > $R/quality-epochs-conv-residual.log 2>&1
python benchmarks/throughput.py --parts calls --calls 1 --tracing-repeats 5 --name throughput-first-fit \
    > $R/throughput-first-fit.log 2>&1                                                              # 12 min
