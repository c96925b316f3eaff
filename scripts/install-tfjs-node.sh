#!/usr/bin/env bash
# Installs the optional `tensorflow` backend (@tensorflow/tfjs-node) from package registries only.
#
# tfjs-node's own install script downloads libtensorflow and a prebuilt addon from storage.googleapis.com, which machines
# limited to package registries cannot reach; `npm ci` then leaves the package out (it is an optional dependency). The same
# pieces exist in registries:
#   libtensorflow (the C API)   Maven Central: org.tensorflow:tensorflow-core-api:0.5.0:linux-x86_64 (TensorFlow Java's
#                               natives, TensorFlow 2.10.1: libtensorflow_cc.so.2 exports the C and eager C APIs that
#                               tfjs-node calls, plus libtensorflow_framework.so.2), checked against Maven's SHA-1
#   the C API's headers         PyPI: tensorflow-cpu==2.10.1 (its wheel carries tensorflow/include; only the headers are kept)
#   the package and its addon   npm: @tensorflow/tfjs-node at the lockfile's version (scripts not run), its addon compiled
#                               here with npm's node-gyp against this Node's headers
# tfjs-node 4.22 was built for TensorFlow 2.9.1; it needs only the C API, which 2.10.1 keeps.
# Downloads (~330 MB) are cached in .cache/tfjs-node (git ignores it). `npm ci` removes the package again.
# Linux x86-64 only. Usage: bash scripts/install-tfjs-node.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TF_VERSION=2.10.1
TF_JAVA_VERSION=0.5.0 # TensorFlow Java 0.5.0 = TensorFlow 2.10.1
MAVEN_REPO="${MAVEN_REPO:-https://repo1.maven.org/maven2}"
CACHE=.cache/tfjs-node
PKG=node_modules/@tensorflow/tfjs-node

[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || { echo "install-tfjs-node: Linux x86-64 only (this is $(uname -s)-$(uname -m))" >&2; exit 1; }
for tool in curl unzip sha1sum make g++ python3; do
  command -v "$tool" >/dev/null || { echo "install-tfjs-node: needs $tool" >&2; exit 1; }
done
[ -d node_modules/@tensorflow/tfjs-core ] || { echo "install-tfjs-node: run npm ci first" >&2; exit 1; }
VERSION=$(node -p "require('./package-lock.json').packages['node_modules/@tensorflow/tfjs-node'].version")
mkdir -p "$CACHE"

echo "1/5 @tensorflow/tfjs-node@$VERSION from npm (its install script not run)"
npm install --no-save --ignore-scripts --no-audit --no-fund --loglevel=error "@tensorflow/tfjs-node@$VERSION" >/dev/null

echo "2/5 libtensorflow $TF_VERSION from Maven Central (TensorFlow Java $TF_JAVA_VERSION natives)"
JAR="$CACHE/tensorflow-core-api-$TF_JAVA_VERSION-linux-x86_64.jar"
URL="$MAVEN_REPO/org/tensorflow/tensorflow-core-api/$TF_JAVA_VERSION/tensorflow-core-api-$TF_JAVA_VERSION-linux-x86_64.jar"
if [ ! -f "$JAR" ]; then
  curl -fsSL -o "$JAR.part" "$URL"
  echo "$(curl -fsSL "$URL.sha1" | cut -c1-40)  $JAR.part" | sha1sum -c --quiet - || { echo "install-tfjs-node: SHA-1 mismatch for $URL" >&2; exit 1; }
  mv "$JAR.part" "$JAR"
fi
NATIVES=org/tensorflow/internal/c_api/linux-x86_64
rm -rf "$PKG/deps" && mkdir -p "$PKG/deps/lib"
unzip -q -o -j "$JAR" "$NATIVES/libtensorflow_cc.so.2" "$NATIVES/libtensorflow_framework.so.2" "$NATIVES/LICENSE" -d "$PKG/deps/lib"
# the addon links -ltensorflow -ltensorflow_framework; at run time it loads the SONAMEs (libtensorflow_cc.so.2, ...)
ln -s libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so"
ln -s libtensorflow_framework.so.2 "$PKG/deps/lib/libtensorflow_framework.so"

echo "3/5 the C API's headers from PyPI (tensorflow-cpu==$TF_VERSION's wheel)"
WHEEL=$(ls "$CACHE"/tensorflow_cpu-"$TF_VERSION"-*.whl 2>/dev/null | head -1 || true)
if [ -z "$WHEEL" ]; then
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.10 --platform manylinux2014_x86_64 \
    -d "$CACHE" "tensorflow-cpu==$TF_VERSION"
  WHEEL=$(ls "$CACHE"/tensorflow_cpu-"$TF_VERSION"-*.whl | head -1)
fi
rm -rf "$CACHE/headers" && mkdir -p "$CACHE/headers"
unzip -q -o "$WHEEL" 'tensorflow/include/tensorflow/c/*' 'tensorflow/include/tensorflow/core/platform/*' -d "$CACHE/headers"
cp -r "$CACHE/headers/tensorflow/include" "$PKG/deps/include"

echo "4/5 the addon (node-gyp, this Node's headers)"
GYP="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$GYP" ] || { echo "install-tfjs-node: npm's node-gyp not found at $GYP" >&2; exit 1; }
NODEDIR=$(npm config get nodedir 2>/dev/null || true)
if [ -z "$NODEDIR" ] || [ "$NODEDIR" = undefined ] || [ "$NODEDIR" = null ]; then NODEDIR=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")"); fi
[ -f "$NODEDIR/include/node/node_api.h" ] || { echo "install-tfjs-node: no Node headers under $NODEDIR/include/node (node-gyp would download them; set npm's nodedir)" >&2; exit 1; }
# where tfjs-node looks for its addon (node-pre-gyp: the highest N-API version both it and this Node support)
BINDING=$(node -p "require('@mapbox/node-pre-gyp').find(require.resolve('@tensorflow/tfjs-node/package.json'))")
NAPI=$(basename "$(dirname "$BINDING")" | sed 's/^napi-v//')
(cd "$PKG" && node "$GYP" rebuild --silent --nodedir="$NODEDIR" --napi_build_version="$NAPI" --module_name=tfjs_binding \
  --module_path="$(dirname "$BINDING")" >/dev/null)
[ -f "$BINDING" ] || { echo "install-tfjs-node: the build left no $BINDING" >&2; exit 1; }

echo "5/5 check: load it and multiply"
TF_CPP_MIN_LOG_LEVEL=2 node --input-type=module -e "
const tf = await import('@tensorflow/tfjs-node');
const got = Array.from(tf.tensor2d([[1, 2], [3, 4]]).matMul(tf.tensor2d([[5], [6]])).dataSync());
if (tf.getBackend() !== 'tensorflow' || got.join() !== '17,39') throw new Error('tfjs-node check failed: ' + tf.getBackend() + ' ' + got);
console.log('@tensorflow/tfjs-node ' + tf.version['tfjs-node'] + ' on libtensorflow ' + tf.backend().binding.TF_Version + ': ok');
"
echo "LOPPER_BACKEND=tensorflow now starts, and automatic selection prefers it to wasm. Lopper's WASM kernels trained faster"
echo "than libtensorflow on the machine docs/results.md describes (npm run bench:backends compares them here);"
echo "LOPPER_BACKEND=wasm keeps wasm. npm ci removes tfjs-node again."
