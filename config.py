"""Global configuration: where results, datasets and downloads go."""

result_dir = 'results'
data_dir = 'datasets'
cache_dir = 'cache'
run_dir_ignore = ['results', 'datasets', 'cache']

# Metric feature networks (path or URL); None = NVIDIA's published files, downloaded to cache_dir.
inception_network = None     # FID: inception_v3_features.pkl or a frozen Inception GraphDef (classify_image_graph_def.pb)
lpips_network = None         # PPL: vgg16_zhang_perceptual.pkl
celebahq_classifiers = None  # LS: list of 40 pickles, or a directory of celebahq-classifier-NN-*.pkl
