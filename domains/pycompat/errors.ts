/** An exception raised by a tool; `message` is the Python `str(exc)`. */
export class PyError extends Error {
  constructor(message: string, readonly pyType: string = 'ValueError') {
    super(message);
    this.name = pyType;
  }
}
