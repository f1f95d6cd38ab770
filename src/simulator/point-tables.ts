// The register image of one simulated device: the four Modbus data tables
// (Modbus Application Protocol V1.1b3 section 4.3), PDU addresses zero-based (section 4.4).
// Every table holds addresses 0..199; the device models give meaning to a few of them and the
// rest read as false / 0 and keep what is written, as spare points on real I/O modules do.

export const POINTS_PER_TABLE = 200;

/** Modbus exception codes (Modbus Application Protocol V1.1b3 section 7). */
export const ModbusExceptionCode = {
  illegalDataAddress: 0x02,
  gatewayTargetFailedToRespond: 0x0b,
} as const;

/**
 * Thrown from a server vector callback; modbus-serial's ServerTCP turns `modbusErrorCode`
 * into an exception response (function code | 0x80, section 7).
 */
export class ModbusException extends Error {
  constructor(
    readonly modbusErrorCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ModbusException';
  }
}

function checkAddress(address: number): void {
  if (!Number.isInteger(address) || address < 0 || address >= POINTS_PER_TABLE) {
    throw new ModbusException(
      ModbusExceptionCode.illegalDataAddress,
      `address ${address} is outside 0..${POINTS_PER_TABLE - 1}`,
    );
  }
}

export class PointTables {
  readonly coils: boolean[] = new Array<boolean>(POINTS_PER_TABLE).fill(false);
  readonly discreteInputs: boolean[] = new Array<boolean>(POINTS_PER_TABLE).fill(false);
  readonly inputRegisters: number[] = new Array<number>(POINTS_PER_TABLE).fill(0);
  readonly holdingRegisters: number[] = new Array<number>(POINTS_PER_TABLE).fill(0);

  readCoil(address: number): boolean {
    checkAddress(address);
    return this.coils[address];
  }

  readDiscreteInput(address: number): boolean {
    checkAddress(address);
    return this.discreteInputs[address];
  }

  readInputRegister(address: number): number {
    checkAddress(address);
    return this.inputRegisters[address];
  }

  readHoldingRegister(address: number): number {
    checkAddress(address);
    return this.holdingRegisters[address];
  }

  /** Stores the coil and returns its previous value, so a model can see edges. */
  writeCoil(address: number, value: boolean): boolean {
    checkAddress(address);
    const previous = this.coils[address];
    this.coils[address] = value;
    return previous;
  }

  writeHoldingRegister(address: number, value: number): void {
    checkAddress(address);
    this.holdingRegisters[address] = value & 0xffff;
  }
}
