/** Runs async sections one after another, so a device's output writes never overtake each other. */
export class OutputMutex {
  private tail: Promise<unknown> = Promise.resolve();
  private running = 0;

  get busy(): boolean {
    return this.running > 0;
  }

  run<T>(section: () => Promise<T>): Promise<T> {
    this.running++;
    const result = this.tail.then(section);
    const settle = () => {
      this.running--;
    };
    this.tail = result.then(settle, settle);
    return result;
  }
}
