// The transports gatehouse ships: one line each. config loading and the gateway are handed this
// registry; a new transport is its definition file (or folder) plus one line here.
import { transportRegistry, type TransportRegistry } from './definition.js';
import { modbusRtu, type ModbusRtuTransportConfig } from './modbus-rtu-definition.js';
import { modbusTcp, type ModbusTcpTransportConfig } from './modbus-tcp-definition.js';
import { onvif, type OnvifTransportConfig } from './onvif/definition.js';
import { serialLine, type SerialLineTransportConfig } from './serial-line-definition.js';

export type { Transport, TransportDefinition, TransportRegistry } from './definition.js';
export type { ModbusRtuTransportConfig, ModbusTcpTransportConfig, OnvifTransportConfig, SerialLineTransportConfig };

export const builtinTransports: TransportRegistry = transportRegistry([modbusTcp, modbusRtu, serialLine, onvif]);

/** The config of any shipped transport, as its definition's parse returns it. */
export type TransportConfig = ModbusTcpTransportConfig | ModbusRtuTransportConfig | SerialLineTransportConfig | OnvifTransportConfig;

export type TransportType = TransportConfig['type'];
