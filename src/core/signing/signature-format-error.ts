/** A signature's structure is wrong; the message names what and, where known, the offset. */
export class SignatureFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignatureFormatError';
  }
}
