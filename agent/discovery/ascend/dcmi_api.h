#pragma once
// The DCMI entry points the agent calls, as a table of function pointers. The backend calls DCMI
// only through this table, so unit tests hand it an in-process fake (capture-less lambdas) and
// load no library; production fills it from libdcmi with dlsym.

#include "agent/discovery/ascend/dcmi_abi.h"
#include "common/dynamic_library.h"

namespace zhisuan::agent::ascend {

struct DcmiApi {
  dcmi_init_fn* init = nullptr;
  dcmi_get_card_num_list_fn* card_num_list = nullptr;
  dcmi_get_device_num_in_card_fn* device_num_in_card = nullptr;
  dcmi_get_device_logic_id_fn* logic_id = nullptr;
  dcmi_get_device_health_fn* health = nullptr;
  dcmi_get_device_errorcode_v2_fn* error_codes = nullptr;
  dcmi_get_device_utilization_rate_fn* utilization = nullptr;
  dcmi_get_device_temperature_fn* temperature = nullptr;
  dcmi_get_device_power_info_fn* power = nullptr;
  dcmi_get_device_frequency_fn* frequency = nullptr;
  dcmi_get_device_hbm_info_fn* hbm = nullptr;
  dcmi_get_device_chip_info_fn* chip_info = nullptr;
  dcmi_get_device_pcie_info_v2_fn* pcie_info = nullptr;
  // The stand-in's name when the library is one (DynamicLibrary::StandIn); "" for real DCMI.
  const char* stand_in = "";

  static DcmiApi Resolve(const DynamicLibrary& library) {
    DcmiApi api;
    api.init = library.Find<dcmi_init_fn>("dcmi_init");
    api.card_num_list = library.Find<dcmi_get_card_num_list_fn>("dcmi_get_card_num_list");
    api.device_num_in_card =
        library.Find<dcmi_get_device_num_in_card_fn>("dcmi_get_device_num_in_card");
    api.logic_id = library.Find<dcmi_get_device_logic_id_fn>("dcmi_get_device_logic_id");
    api.health = library.Find<dcmi_get_device_health_fn>("dcmi_get_device_health");
    api.error_codes = library.Find<dcmi_get_device_errorcode_v2_fn>("dcmi_get_device_errorcode_v2");
    api.utilization =
        library.Find<dcmi_get_device_utilization_rate_fn>("dcmi_get_device_utilization_rate");
    api.temperature = library.Find<dcmi_get_device_temperature_fn>("dcmi_get_device_temperature");
    api.power = library.Find<dcmi_get_device_power_info_fn>("dcmi_get_device_power_info");
    api.frequency = library.Find<dcmi_get_device_frequency_fn>("dcmi_get_device_frequency");
    api.hbm = library.Find<dcmi_get_device_hbm_info_fn>("dcmi_get_device_hbm_info");
    api.chip_info = library.Find<dcmi_get_device_chip_info_fn>("dcmi_get_device_chip_info");
    api.pcie_info = library.Find<dcmi_get_device_pcie_info_v2_fn>("dcmi_get_device_pcie_info_v2");
    api.stand_in = library.StandIn();
    return api;
  }

  const char* MissingRequired() const {
    if (init == nullptr) return "dcmi_init";
    if (card_num_list == nullptr) return "dcmi_get_card_num_list";
    if (device_num_in_card == nullptr) return "dcmi_get_device_num_in_card";
    if (logic_id == nullptr) return "dcmi_get_device_logic_id";
    return nullptr;
  }
};

}  // namespace zhisuan::agent::ascend
