// run_onnx.js - runs the ONNX files onnx_cases wrote in ONNX Runtime and
// compares their outputs with the library's.
//
//   node run_onnx.js DIR
//
// For each "run" line of DIR/manifest.tsv: reads the file's protobuf
// (IR and operator-set versions, a symbolic batch dimension on the input
// and the output, the weights as initializers and none of them a graph
// input, as many parameters as the library's part holds), runs it on the
// input .npy with onnxruntime-node and compares the output with the
// expected .npy: same shape, and a relative error max|onnx - library| /
// max|library| of at most 1e-5.  "refused" lines are reported as they are.
// Prints the worst relative error of every model; exits 1 if any check
// fails.
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const TOLERANCE = 1e-5;

// ---- .npy files (version 1.0-3.0, little-endian float32, C order) ------

function readNpy(file) {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 0, 6) !== '\x93NUMPY')
    throw new Error(`${file}: not a .npy file`);
  const major = b[6];
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = b.toString('latin1', start, start + hlen);
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header))
    throw new Error(`${file}: not a C-order float32 array: ${header}`);
  const m = /'shape':\s*\(([^)]*)\)/.exec(header);
  const shape = m[1].split(',').map(s => s.trim()).filter(s => s !== '')
    .map(Number);
  const off = start + hlen;
  const n = shape.reduce((a, v) => a * v, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = b.readFloatLE(off + 4 * i);
  return { shape, data };
}

// ---- a protobuf reader, enough to check the files' structure -----------

// Fields of a message: [{field, wire, value}], value a Number (varint,
// fixed32 bits) or a Buffer (length-delimited).
function fields(buf) {
  const out = [];
  let p = 0;
  const varint = () => {
    let v = 0, scale = 1, byte;
    do {
      if (p >= buf.length) throw new Error('truncated varint');
      byte = buf[p++];
      v += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte & 0x80);
    return v;
  };
  while (p < buf.length) {
    const key = varint(), field = Math.floor(key / 8), wire = key % 8;
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 5) { out.push({ field, wire, value: buf.readUInt32LE(p) }); p += 4; }
    else if (wire === 1) { out.push({ field, wire, value: buf.subarray(p, p + 8) }); p += 8; }
    else if (wire === 2) {
      const n = varint();
      if (p + n > buf.length) throw new Error(`field ${field}: ${n} bytes past the end`);
      out.push({ field, wire, value: buf.subarray(p, p + n) });
      p += n;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}

const all = (msg, f) => fields(msg).filter(x => x.field === f).map(x => x.value);
const one = (msg, f) => all(msg, f)[0];
const str = b => (b === undefined ? '' : b.toString('utf8'));

// The tensor type's dims of a ValueInfoProto: ['N', 1, 28, 28].
function dimsOf(valueInfo) {
  const shape = one(one(one(valueInfo, 2), 1), 2);
  return all(shape, 1).map(d => {
    const param = one(d, 2);
    return param !== undefined ? str(param) : one(d, 1);
  });
}

// What the file declares; throws on a structural problem.
function inspect(file, params) {
  const model = fs.readFileSync(file);
  const problems = [];
  const ir = one(model, 1);
  if (!(ir >= 7)) problems.push(`IR version ${ir}`);
  const opsets = all(model, 8).map(o => ({ domain: str(one(o, 1)), version: one(o, 2) }));
  if (opsets.length !== 1 || opsets[0].domain !== '' || !(opsets[0].version >= 13))
    problems.push(`operator sets ${JSON.stringify(opsets)}`);
  const graph = one(model, 7);
  const inputs = all(graph, 11), outputs = all(graph, 12);
  if (inputs.length !== 1 || outputs.length !== 1)
    problems.push(`${inputs.length} inputs, ${outputs.length} outputs`);
  for (const v of [...inputs, ...outputs]) {
    const d = dimsOf(v);
    if (typeof d[0] !== 'string' || d[0] === '')
      problems.push(`${str(one(v, 1))}: batch dimension ${d[0]} is not symbolic`);
  }
  const inputNames = new Set(inputs.map(v => str(one(v, 1))));
  let held = 0;
  for (const t of all(graph, 5)) {
    const name = str(one(t, 8));
    if (inputNames.has(name)) problems.push(`initializer ${name} is a graph input`);
    const n = all(t, 1).reduce((a, v) => a * v, 1);
    const raw = one(t, 9);
    const type = one(t, 2);
    const bytes = type === 1 ? 4 : type === 7 ? 8 : 0;
    if (raw === undefined || raw.length !== n * bytes)
      problems.push(`initializer ${name}: ${raw ? raw.length : 0} bytes for ${n} values`);
    if (/_(weight|bias)$/.test(name)) held += n;
  }
  if (held !== params) problems.push(`initializers hold ${held} parameters, the library's part ${params}`);
  const ops = new Set(all(graph, 1).map(nd => str(one(nd, 4))));
  for (const nd of all(graph, 1))
    if (str(one(nd, 7)) !== '') problems.push(`node of domain ${str(one(nd, 7))}`);
  return { problems, ops: [...ops].sort(), input: dimsOf(inputs[0]), output: dimsOf(outputs[0]) };
}

// ---- the checks -----------------------------------------------------------

async function main() {
  const dir = process.argv[2];
  const lines = fs.readFileSync(path.join(dir, 'manifest.tsv'), 'utf8')
    .split('\n').filter(l => l !== '');
  const worst = new Map(); // model -> {rel, where}
  let failures = 0, runs = 0, refused = 0;
  const sessions = new Map();
  const options = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  for (const line of lines) {
    const f = line.split('\t');
    if (f[0] === 'refused') {
      console.log(`refused  ${f[1]} ${f[2]}: ${f[3]}`);
      refused++;
      continue;
    }
    const [, model, part, file, params, inFile, wantFile] = f;
    const label = `${model} ${part}`;
    try {
      if (!sessions.has(file)) {
        const info = inspect(file, Number(params));
        if (info.problems.length) throw new Error(info.problems.join('; '));
        console.log(`file     ${label}: ${path.basename(file)}, ${fs.statSync(file).size} bytes, ` +
          `[${info.input}] -> [${info.output}], ${info.ops.join(' ')}`);
        sessions.set(file, await ort.InferenceSession.create(file, options));
      }
      const session = sessions.get(file);
      const x = readNpy(inFile), want = readNpy(wantFile);
      const wantIn = part === 'decoder' ? 'code' : 'input';
      const wantOut = part === 'encoder' ? 'code' : 'reconstruction';
      if (session.inputNames.join() !== wantIn || session.outputNames.join() !== wantOut)
        throw new Error(`names ${session.inputNames} -> ${session.outputNames}`);
      const result = await session.run({ [wantIn]: new ort.Tensor('float32', x.data, x.shape) });
      const y = result[wantOut];
      if (y.dims.join() !== want.shape.join())
        throw new Error(`output shape [${y.dims}], the library's [${want.shape}]`);
      let diff = 0, scale = 0;
      for (let i = 0; i < want.data.length; i++) {
        const d = Math.abs(y.data[i] - want.data[i]);
        diff = d > diff || Number.isNaN(d) ? d : diff;
        scale = Math.max(scale, Math.abs(want.data[i]));
      }
      const rel = scale > 0 ? diff / scale : diff;
      const ok = rel <= TOLERANCE;
      runs++;
      const w = worst.get(model);
      if (!w || rel > w.rel || Number.isNaN(rel)) worst.set(model, { rel, where: `${part}, batch ${x.shape[0]}` });
      console.log(`${ok ? 'ok      ' : 'FAIL    '} ${label}, batch ${x.shape[0]}: relative error ` +
        `${rel.toExponential(2)} (max |diff| ${diff.toExponential(2)}, max |value| ${scale.toPrecision(3)})`);
      if (!ok) failures++;
    } catch (e) {
      console.log(`FAIL     ${label}: ${e.message}`);
      failures++;
    }
  }
  console.log('\nworst relative error per model (of the whole model, encoder and decoder, batches 1 and 5):');
  for (const [model, w] of worst)
    console.log(`  ${model.padEnd(28)} ${w.rel.toExponential(2)}  (${w.where})`);
  console.log(`\nonnx: ${runs} runs in ONNX Runtime ${ort.env.versions.common}, ${refused} parts refused, ` +
    `${failures} failed; tolerance ${TOLERANCE} relative`);
  process.exit(failures ? 1 : 0);
}

main().catch(e => { console.error(e); process.exit(1); });
