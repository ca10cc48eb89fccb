// decodeSharedBind: BINDs of one logmode ("SNA Formats", GA27-3136, BIND) share their decoded
// protocols, pacing, PS and user data; each image is frozen and equal to what decodeBind gives.
import t from 'tap'
import { LuLuHalfSession, decodeBind, decodeSharedBind, decodePiu, encodeBind, encodePiu, nameToEbcdic, requestRh, type BindImage } from '../../lib/sna/index.js'

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
// An LU type 2 BIND with user data, a URC and an SLU name (the codec-errors vector).
const V1 = h('31 01 03 03 B1 90 30 80 00 87 87 F8 87 00 02 80 00 00 00 00 18 50 00 00 7E 00 00 08 C9 C2 D4 F0 D4 D6 D5 F2 00 05 00 7E E5 1C 10 08 C9 C2 D4 F0 E3 C5 E2 D4')

function withSlu (bind: BindImage, slu: string): Buffer { return encodeBind({ ...bind, sluName: nameToEbcdic(slu) }) }

t.test('equal to decodeBind, frozen, logmode parts shared between SLU names', async t => {
  const base = decodeBind(V1)
  const a = decodeSharedBind(withSlu(base, 'LUA00001'))
  const b = decodeSharedBind(withSlu(base, 'LUA00002'))
  t.same(a, decodeBind(withSlu(base, 'LUA00001')), 'same image as decodeBind')
  t.same(b, decodeBind(withSlu(base, 'LUA00002')))
  t.not(a, b, 'each BIND its own image (its own SLU name)')
  t.equal(a.pacing, b.pacing, 'pacing shared')
  t.equal(a.primary, b.primary, 'LU protocols shared')
  t.equal(a.ps, b.ps, 'PS shared')
  t.equal(a.userData, b.userData, 'user data shared')
  t.ok(Object.isFrozen(a.pacing) && Object.isFrozen(a.common) && Object.isFrozen(a.primary) && Object.isFrozen(a.ps), 'shared parts frozen')
  t.throws(() => { (a.pacing as { secondaryReceiveWindow: number }).secondaryReceiveWindow = 1 }, TypeError, 'no session can change a shared part')
})

t.test('a BIND without URC or SLU name is the shared image itself; the read buffer is not kept', async t => {
  const base = decodeBind(V1)
  const { urc: _urc, sluName: _slu, ...noTail } = base
  const ru = encodeBind(noTail)
  const a = decodeSharedBind(ru)
  ru.fill(0)
  const b = decodeSharedBind(encodeBind(noTail))
  t.equal(a, b, 'one image')
  t.ok(Object.isFrozen(a), 'frozen: it is shared whole')
  t.same(a.pluName, base.pluName, 'decoded from the cache\'s copy, not the caller\'s buffer')
})

t.test('many logmodes: older shapes drop out, decoding stays correct; errors are decodeBind\'s', async t => {
  const base = decodeBind(V1)
  for (let w = 1; w <= 70; w++) {
    const pacing = { ...base.pacing, secondaryReceiveWindow: w % 64, primarySendWindow: w >> 6 }
    t.same(decodeSharedBind(encodeBind({ ...base, pacing })).pacing, pacing)
  }
  t.throws(() => decodeSharedBind(h('32 01')), { code: 'TN3270LB_ERR_SNA_MALFORMED' })
})

t.test('the URC and SLU name are views of the BIND bytes given, not pooled copies', async t => {
  const ru = withSlu(decodeBind(V1), 'LUA00009')
  const a = decodeSharedBind(ru)
  t.same(a, decodeBind(ru), 'same image as decodeBind')
  t.equal(a.sluName!.buffer, ru.buffer, 'SLU name is a view of the BIND bytes')
  t.equal(a.urc!.buffer, ru.buffer, 'URC is a view of the BIND bytes')
})

t.test('a received BIND is kept in an exact-size buffer of its own, not a view of the PIU (a pooled slab)', async t => {
  const slu = new LuLuHalfSession({ role: 'secondary', localAddress: 2, remoteAddress: 1 })
  const ru = withSlu(decodeBind(V1), 'LUA00010')
  // The PIU as the host link hands it over: a small copy out of Node's shared 8 KiB pool.
  const wire = Buffer.from(encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 2, oaf: 1, snf: 1 }, rh: requestRh({ category: 'SC', fi: true }), ru }))
  const d = slu.receive(decodePiu(wire))
  const ev = d.events.find(e => e.type === 'bind')
  t.ok(ev !== undefined && ev.type === 'bind', 'bound')
  const kept = slu.bindRu!
  t.same(kept, ru, 'the BIND image kept is the one received')
  t.equal(kept.buffer.byteLength, kept.length, 'in a buffer of its own size')
  t.not(kept.buffer, wire.buffer, 'not the PIU\'s buffer')
  t.equal(slu.bind!.sluName!.buffer, kept.buffer, 'the image\'s SLU name shares the kept bytes')
  wire.fill(0)
  t.same(slu.bindRu, ru, 'later changes to the PIU\'s memory do not reach it')
})
