// How appc/ meets the link (docs/internals.md hostlink/): each side hands whole PIUs to a
// transport and is given received PIUs by its owner. On the `sna` link LU 6.2 PIUs carry ODAI = 1
// ("SNA Formats", GA27-3136, TH: LFSID = ODAI + DAF' + OAF'); ODAI = 0 traffic is dependent-LU and is routed
// elsewhere by the link owners (`isLu62Piu`).

/** Gateway side: `link` is the partner's host name; host side: an opaque id of the connection. */
export interface AppcTransport { send: (piu: Buffer, link: string) => void }

/** True for a PIU the APPC engine / LU 6.2 partner owns: FID2 with ODAI = 1 (TH byte 0 bit 6). */
export function isLu62Piu (piu: Buffer): boolean {
  return piu.length >= 6 && (piu[0]! & 0xf0) === 0x20 && (piu[0]! & 0x02) !== 0
}

export interface PiuReceiver { receive: (piu: Buffer, link: string) => void, linkUp: (link: string) => void, linkDown: (link: string) => void }
