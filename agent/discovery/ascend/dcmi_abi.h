#pragma once
// The subset of Huawei's DCMI C API (libdcmi.so, "DCMI API Reference" of the Ascend HDK) the agent
// calls. Declared here from the public API shapes so the agent neither links against nor ships
// Huawei's dcmi_interface_api.h: function signatures, struct layouts and enum values mirror that
// header. Also included by tests/fixtures/fake_dcmi, so the fake and the agent agree.
//
// Addressing: DCMI numbers cards (card_id, from dcmi_get_card_num_list) and chips within a card
// (device_id, 0..dcmi_get_device_num_in_card-1). The "logic id" is the node-wide chip number that
// names /dev/davinci<logic id> and that the Ascend runtime calls device N.

extern "C" {

#define DCMI_OK 0
#define DCMI_ERROR_NOT_SUPPORT (-8255)
#define DCMI_MAX_CARD_NUM 64

struct dcmi_chip_info {
  unsigned char chip_type[32];  // "Ascend"
  unsigned char chip_name[32];  // "910B3"
  unsigned char chip_ver[32];   // "V1"
  unsigned int aicore_cnt;
};

// Sizes in MB, frequency in MHz, temperature in °C.
struct dcmi_hbm_info {
  unsigned long long memory_size;
  unsigned int freq;
  unsigned long long memory_usage;
  int temp;
  unsigned int bandwith_util_rate;  // (sic) the public header's spelling
};

struct dcmi_pcie_info_all {
  unsigned int venderid;  // (sic)
  unsigned int subvenderid;
  unsigned int deviceid;
  unsigned int subdeviceid;
  int domain;
  unsigned int bdf_busid;
  unsigned int bdf_deviceid;
  unsigned int bdf_funcid;
  unsigned char reserve[32];
};

// dcmi_get_device_utilization_rate input_type values.
enum dcmi_utilization_type {
  DCMI_UTILIZATION_MEMORY = 1,
  DCMI_UTILIZATION_AICORE = 2,
  DCMI_UTILIZATION_AICPU = 3,
  DCMI_UTILIZATION_CTRLCPU = 4,
  DCMI_UTILIZATION_MEMORY_BANDWIDTH = 5,
  DCMI_UTILIZATION_HBM = 6,
};

enum dcmi_freq_type {
  DCMI_FREQ_DDR = 1,
  DCMI_FREQ_CTRLCPU = 2,
  DCMI_FREQ_HBM = 6,
  DCMI_FREQ_AICORE_CURRENT = 7,
  DCMI_FREQ_AICORE_MAX = 9,
  DCMI_FREQ_VECTORCORE_CURRENT = 12,
};

// dcmi_get_device_health: 0 healthy, 1 general (minor) alarm, 2 major alarm, 3 critical alarm.
#define DCMI_HEALTH_OK 0U

// Function types, one per entry point, named after the entry point. All return DCMI_OK or a
// negative error code.
typedef int dcmi_init_fn(void);
typedef int dcmi_get_card_num_list_fn(int* card_num, int* card_list, int list_len);
typedef int dcmi_get_device_num_in_card_fn(int card_id, int* device_num);
typedef int dcmi_get_device_logic_id_fn(int* device_logic_id, int card_id, int device_id);
typedef int dcmi_get_device_health_fn(int card_id, int device_id, unsigned int* health);
typedef int dcmi_get_device_errorcode_v2_fn(int card_id, int device_id, int* error_count,
                                            unsigned int* error_code_list, unsigned int list_len);
typedef int dcmi_get_device_utilization_rate_fn(int card_id, int device_id, int input_type,
                                                unsigned int* utilization_rate);
typedef int dcmi_get_device_temperature_fn(int card_id, int device_id, int* temperature);
// Power in units of 0.1 W.
typedef int dcmi_get_device_power_info_fn(int card_id, int device_id, int* power);
typedef int dcmi_get_device_frequency_fn(int card_id, int device_id, enum dcmi_freq_type input_type,
                                         unsigned int* frequency);
typedef int dcmi_get_device_hbm_info_fn(int card_id, int device_id, struct dcmi_hbm_info* hbm_info);
typedef int dcmi_get_device_chip_info_fn(int card_id, int device_id,
                                         struct dcmi_chip_info* chip_info);
typedef int dcmi_get_device_pcie_info_v2_fn(int card_id, int device_id,
                                            struct dcmi_pcie_info_all* pcie_info);

}  // extern "C"
